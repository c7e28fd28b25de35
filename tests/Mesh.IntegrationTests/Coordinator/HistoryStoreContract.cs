using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.History;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Coordinator;

/// <summary>What every <see cref="IHistoryStore"/> must do; run against the in-memory twin and against real etcd.</summary>
public abstract class HistoryStoreContract
{
    protected abstract IHistoryStore Store { get; }

    private static HistoryEntry Entry(string group, int i) =>
        new(group, $"{i:D13}-peer", System.Text.Encoding.UTF8.GetBytes($"value {i}"));

    private async Task<List<HistoryEntry>> ReadAll(string group)
    {
        var all = new List<HistoryEntry>();
        await Store.ReadAsync(group, page =>
        {
            all.AddRange(page);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        return all;
    }

    [Test]
    public async Task Append_is_create_only_so_a_retry_never_duplicates_or_overwrites()
    {
        var group = $"c-{Guid.NewGuid():N}";
        await Store.AppendAsync([Entry(group, 1), Entry(group, 2)], CancellationToken.None);
        var changed = Entry(group, 2) with { Value = "other"u8.ToArray() };
        await Store.AppendAsync([changed, Entry(group, 3)], CancellationToken.None);

        var all = await ReadAll(group);
        Assert.That(all.Select(e => e.Name), Is.EqualTo(new[] { Entry(group, 1).Name, Entry(group, 2).Name, Entry(group, 3).Name }));
        Assert.That(System.Text.Encoding.UTF8.GetString(all[1].Value), Is.EqualTo("value 2"), "the first write stands");
    }

    [Test]
    public async Task Replace_writes_over_a_key_or_moves_it_only_while_it_is_as_read()
    {
        var group = $"r-{Guid.NewGuid():N}";
        await Store.AppendAsync([Entry(group, 1), Entry(group, 2)], CancellationToken.None);
        var read = await ReadAll(group);

        // Over the same key, while it is as read: done; a second try with the old revision finds it changed.
        var tombstone = read[0] with { Value = "tombstone"u8.ToArray() };
        Assert.That(await Store.ReplaceAsync(read[0], tombstone, CancellationToken.None), Is.True);
        Assert.That(await Store.ReplaceAsync(read[0], read[0] with { Value = "again"u8.ToArray() }, CancellationToken.None), Is.False, "the key changed since it was read");

        // To another key: the one read goes in the same transaction.
        var moved = new HistoryEntry(group, Entry(group, 3).Name, "moved"u8.ToArray());
        Assert.That(await Store.ReplaceAsync(read[1], moved, CancellationToken.None), Is.True);
        Assert.That(await Store.ReplaceAsync(read[1], moved, CancellationToken.None), Is.False, "the key read is gone");

        var after = await ReadAll(group);
        Assert.That(after.Select(e => e.Name), Is.EqualTo(new[] { Entry(group, 1).Name, Entry(group, 3).Name }));
        Assert.That(after.Select(e => System.Text.Encoding.UTF8.GetString(e.Value)), Is.EqualTo(new[] { "tombstone", "moved" }));
    }

    [Test]
    public async Task Delete_before_removes_exactly_the_names_sorting_before_the_bound_across_batches_and_leaves_other_groups()
    {
        var group = $"d-{Guid.NewGuid():N}";
        var other = $"d-{Guid.NewGuid():N}";
        var total = EtcdHistoryStore.DeleteBatch + 2_345;
        foreach (var batch in Enumerable.Range(0, total).Select(i => Entry(group, i)).Chunk(EtcdHistoryStore.MaxOpsPerTransaction))
        {
            await Store.AppendAsync(batch, CancellationToken.None);
        }

        await Store.AppendAsync([Entry(other, 1)], CancellationToken.None);
        var bound = $"{EtcdHistoryStore.DeleteBatch + 1_000:D13}";

        Assert.That(await Store.CountBeforeAsync(group, bound, CancellationToken.None), Is.EqualTo(EtcdHistoryStore.DeleteBatch + 1_000));
        var deleted = await Store.DeleteBeforeAsync(group, bound, CancellationToken.None);

        var left = await ReadAll(group);
        Assert.That(deleted, Is.EqualTo(EtcdHistoryStore.DeleteBatch + 1_000));
        Assert.That(left.Select(e => e.Name).First(), Is.EqualTo(Entry(group, EtcdHistoryStore.DeleteBatch + 1_000).Name), "the bound itself is kept");
        Assert.That(left, Has.Count.EqualTo(1_345));
        Assert.That(await ReadAll(other), Has.Count.EqualTo(1), "another group's history is untouched");
        Assert.That(await Store.CountAsync(group, 0, CancellationToken.None, from: Entry(group, total - 5).Name), Is.EqualTo(5), "counted from a name on");
        Assert.That(await Store.DeleteBeforeAsync(group, bound, CancellationToken.None), Is.Zero, "deleting again deletes nothing");
    }

    [Test]
    public async Task Read_returns_everything_in_key_order_across_pages()
    {
        var group = $"p-{Guid.NewGuid():N}";
        var total = EtcdHistoryStore.PageSize * 2 + 17;
        var entries = Enumerable.Range(0, total).Select(i => Entry(group, i)).Reverse().ToList();
        foreach (var batch in entries.Chunk(EtcdHistoryStore.MaxOpsPerTransaction))
        {
            await Store.AppendAsync(batch, CancellationToken.None);
        }

        var pages = 0;
        var all = new List<HistoryEntry>();
        var revision = await Store.ReadAsync(group, page =>
        {
            pages++;
            all.AddRange(page);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        Assert.That(all, Has.Count.EqualTo(total));
        Assert.That(all.Select(e => e.Name), Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
        Assert.That(pages, Is.EqualTo(3));

        var inKeyOrder = new List<HistoryEntry>();
        Assert.That(await Store.ReadInKeyOrderAsync(group, page =>
        {
            inKeyOrder.AddRange(page);
            return ValueTask.CompletedTask;
        }, CancellationToken.None), Is.EqualTo(revision));
        Assert.That(inKeyOrder.Select(e => e.Name), Is.EqualTo(all.Select(e => e.Name)), "the same read when etcd does not compact under it");
    }

    [Test]
    public async Task ReadSince_returns_only_what_was_written_after_a_revision_in_write_order()
    {
        var group = $"s-{Guid.NewGuid():N}";
        await Store.AppendAsync([Entry(group, 9), Entry(group, 8)], CancellationToken.None);
        var revision = await Store.ReadAsync(group, _ => ValueTask.CompletedTask, CancellationToken.None);
        await Store.AppendAsync([Entry(group, 1), Entry(group, 2)], CancellationToken.None);
        await Store.AppendAsync([Entry(group, 0)], CancellationToken.None);

        var since = new List<HistoryEntry>();
        var now = await Store.ReadSinceAsync(group, revision, page =>
        {
            since.AddRange(page);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        Assert.That(since.Select(e => e.Name).Take(2), Is.EquivalentTo(new[] { Entry(group, 1).Name, Entry(group, 2).Name }));
        Assert.That(since.Select(e => e.Name).Last(), Is.EqualTo(Entry(group, 0).Name), "written last, read last");
        Assert.That(since, Has.Count.EqualTo(3));

        var nothing = 0;
        await Store.ReadSinceAsync(group, now, page =>
        {
            nothing += page.Count;
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        Assert.That(nothing, Is.Zero);
    }

    [Test]
    public async Task Names_since_a_revision_and_a_get_by_name_find_exactly_what_a_reader_lacks()
    {
        var group = $"n-{Guid.NewGuid():N}";
        await Store.AppendAsync([Entry(group, 1)], CancellationToken.None);
        var revision = await Store.ReadAsync(group, _ => ValueTask.CompletedTask, CancellationToken.None);
        var total = EtcdHistoryStore.PageSize + 300;
        foreach (var batch in Enumerable.Range(2, total).Select(i => Entry(group, i)).Chunk(EtcdHistoryStore.MaxOpsPerTransaction))
        {
            await Store.AppendAsync(batch, CancellationToken.None);
        }

        var names = new List<string>();
        var now = await Store.ReadNamesSinceAsync(group, revision, page =>
        {
            names.AddRange(page);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        Assert.That(names, Is.EqualTo(Enumerable.Range(2, total).Select(i => Entry(group, i).Name)), "every name written since, once, in write order");
        Assert.That(now, Is.GreaterThan(revision));

        var wanted = new[] { Entry(group, 1).Name, "no-such-entry", Entry(group, total + 1).Name };
        var found = await Store.GetAsync(group, [.. wanted, .. Enumerable.Range(2, 200).Select(i => Entry(group, i).Name)], CancellationToken.None);
        Assert.That(found, Has.Count.EqualTo(202), "entries that exist, across more than one transaction");
        Assert.That(System.Text.Encoding.UTF8.GetString(found[0].Value), Is.EqualTo("value 1"));
        Assert.That(found[1].Name, Is.EqualTo(Entry(group, total + 1).Name));
        Assert.That(found.All(e => e.Revision > 0), "each with the revision it was written at");
    }

    [Test]
    public async Task ReadSince_pages_through_transactions_without_losing_or_repeating_an_entry()
    {
        var group = $"q-{Guid.NewGuid():N}";
        var total = EtcdHistoryStore.PageSize * 2 + 17;
        foreach (var batch in Enumerable.Range(0, total).Select(i => Entry(group, i)).Chunk(EtcdHistoryStore.MaxOpsPerTransaction))
        {
            await Store.AppendAsync(batch, CancellationToken.None);
        }

        var names = new List<string>();
        await Store.ReadSinceAsync(group, 0, page =>
        {
            names.AddRange(page.Select(e => e.Name));
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        Assert.That(names, Has.Count.EqualTo(total));
        Assert.That(names.Distinct().Count(), Is.EqualTo(total));
    }

    [Test]
    public async Task An_entry_written_during_a_paged_read_is_in_the_read_or_after_the_revision_it_returns()
    {
        var group = $"during-{Guid.NewGuid():N}";
        var total = EtcdHistoryStore.PageSize * 2 + 17;
        foreach (var batch in Enumerable.Range(1, total).Select(i => Entry(group, i * 2)).Chunk(EtcdHistoryStore.MaxOpsPerTransaction))
        {
            await Store.AppendAsync(batch, CancellationToken.None);
        }

        // Written while the second page is handed over, with a name that sorts into the first page.
        var late = Entry(group, 3);
        var pages = 0;
        var read = new List<HistoryEntry>();
        var revision = await Store.ReadAsync(group, async page =>
        {
            read.AddRange(page);
            if (++pages == 2)
            {
                await Store.AppendAsync([late], CancellationToken.None);
            }
        }, CancellationToken.None);
        await Store.ReadSinceAsync(group, revision, page =>
        {
            read.AddRange(page);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);

        Assert.That(read.Count(e => e.Name == late.Name), Is.EqualTo(1), "once: in the snapshot or after its revision, never neither");
        Assert.That(read, Has.Count.EqualTo(total + 1));
    }

    [Test]
    public async Task Seventy_megabytes_of_junk_between_messages_leaves_every_message_read_in_order_and_the_junk_values_left_out()
    {
        var store = Store;
        var group = $"junk-{Guid.NewGuid():N}";
        var ct = CancellationToken.None;
        var start = await store.ReadAsync(group, _ => ValueTask.CompletedTask, ct);
        // 50 values of 1.4 MB (under etcd's 1.5 MiB request limit), each written on its own between two transactions
        // of messages, with names that sort between theirs.
        var junk = new byte[1_400_000];
        new Random(28).NextBytes(junk);
        var written = new List<string>();
        var junkNames = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            await store.AppendAsync([Entry(group, i * 100), Entry(group, i * 100 + 1)], ct);
            junkNames.Add($"{i * 100 + 50:D13}-junk");
            await store.AppendAsync([new HistoryEntry(group, junkNames[^1], junk)], ct);
            written.AddRange([Entry(group, i * 100).Name, Entry(group, i * 100 + 1).Name, junkNames[^1]]);
        }

        await store.AppendAsync([Entry(group, 999_999)], ct);
        written.Add(Entry(group, 999_999).Name);
        var messages = written.Where(n => !n.EndsWith("-junk", StringComparison.Ordinal)).ToList();

        var leftOut = store.ValuesLeftOut;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var all = new List<HistoryEntry>();
        await store.ReadAsync(group, page =>
        {
            all.AddRange(page);
            return ValueTask.CompletedTask;
        }, ct);
        Assert.That(all.Select(e => e.Name), Is.EqualTo(written), "every key, in key order");
        Assert.That(all.Where(e => e.Value.Length > 0).Select(e => e.Name), Is.EqualTo(messages), "every message with its value");
        Assert.That(all.Where(e => junkNames.Contains(e.Name)).Select(e => e.Value.Length), Has.All.Zero, "no junk value handed over");
        Assert.That(store.ValuesLeftOut - leftOut, Is.EqualTo(50), "each junk value counted");
        TestContext.Out.WriteLine($"read in key order: {clock.ElapsedMilliseconds} ms");

        clock.Restart();
        var since = new List<HistoryEntry>();
        await store.ReadSinceAsync(group, start, page =>
        {
            since.AddRange(page);
            return ValueTask.CompletedTask;
        }, ct);
        Assert.That(since.Select(e => e.Name), Is.EqualTo(written), "every key, in write order");
        Assert.That(since.Where(e => e.Value.Length > 0).Select(e => System.Text.Encoding.UTF8.GetString(e.Value)),
            Is.EqualTo(messages.Select(n => $"value {int.Parse(n[..13], System.Globalization.CultureInfo.InvariantCulture)}")));
        Assert.That(store.ValuesLeftOut - leftOut, Is.EqualTo(100));
        TestContext.Out.WriteLine($"read in write order: {clock.ElapsedMilliseconds} ms");

        var names = new List<string>();
        await store.ReadNamesSinceAsync(group, start, page =>
        {
            names.AddRange(page);
            return ValueTask.CompletedTask;
        }, ct);
        Assert.That(names, Is.EqualTo(written));

        clock.Restart();
        var got = await store.GetAsync(group, written, ct);
        TestContext.Out.WriteLine($"fetched by name: {clock.ElapsedMilliseconds} ms");
        Assert.That(got.Select(e => e.Name), Is.EqualTo(written), "fetched by name, in the order asked");
        Assert.That(got.Where(e => e.Value.Length > 0).Select(e => e.Name), Is.EqualTo(messages));
        Assert.That(store.ValuesLeftOut - leftOut, Is.EqualTo(150));
    }

    [Test]
    public async Task Groups_do_not_see_each_others_history()
    {
        var a = $"a-{Guid.NewGuid():N}";
        await Store.AppendAsync([Entry(a, 1), Entry(a + "x", 2)], CancellationToken.None);
        Assert.That((await ReadAll(a)).Select(e => e.Group).Distinct(), Is.EqualTo(new[] { a }));
        Assert.That(await ReadAll(a), Has.Count.EqualTo(1));
    }
}

[Category("Unit")]
public sealed class InMemoryHistoryStoreContract : HistoryStoreContract
{
    protected override IHistoryStore Store { get; } = new InMemoryHistoryStore();
}

[Category("Integration")]
public sealed class EtcdHistoryStoreContract : HistoryStoreContract
{
    private EtcdProcess _etcd = null!;
    private EtcdConnection _connection = null!;

    protected override IHistoryStore Store => new EtcdHistoryStore(_connection);

    [OneTimeSetUp]
    public async Task Start()
    {
        _etcd = await EtcdProcess.StartAsync();
        _connection = new EtcdConnection([_etcd.Url]);
    }

    private static HistoryEntry Entry(string group, string name) => new(group, name, System.Text.Encoding.UTF8.GetBytes("v " + name));

    private async Task<List<string>> WriteAsync(string group, int count)
    {
        var names = Enumerable.Range(0, count).Select(i => $"{1_000_000 + i:D13}-p").ToList();
        foreach (var batch in names.Chunk(EtcdHistoryStore.MaxOpsPerTransaction))
        {
            await Store.AppendAsync(batch.Select(n => Entry(group, n)).ToList(), CancellationToken.None);
        }

        return names;
    }

    /// <summary>Between two pages: an entry that sorts before the read's place and one after it are written, and etcd
    /// compacts away the revision the read was pinned to.</summary>
    private async Task WriteAndCompactAsync(string group, List<string> expected)
    {
        var early = "0000000000001-early";
        var late = "9999999999999-late";
        await Store.AppendAsync([Entry(group, early), Entry(group, late)], CancellationToken.None);
        expected.Add(early);
        expected.Add(late);
        var (_, revision) = _etcd.CountKeys("/mesh/");
        Assert.That(_etcd.Etcdctl("compact", revision.ToString(System.Globalization.CultureInfo.InvariantCulture)).ExitCode, Is.EqualTo(0));
    }

    /// <summary>The names a read hands over, in the order it does, when etcd is written to and compacted after its first
    /// page (<see cref="WriteAndCompactAsync"/>).</summary>
    private async Task<List<string>> ReadCompactingAsync(string group, List<string> expected, Func<Func<IReadOnlyList<HistoryEntry>, ValueTask>, Task> read)
    {
        var seen = new List<string>();
        var pages = 0;
        await read(async page =>
        {
            seen.AddRange(page.Select(e => e.Name));
            if (++pages == 1)
            {
                await WriteAndCompactAsync(group, expected);
            }
        });
        return seen;
    }

    [Test]
    public async Task A_paged_read_that_meets_a_compaction_goes_on_and_misses_nothing()
    {
        var group = "compacted-read-" + Guid.NewGuid().ToString("N")[..8];
        var expected = await WriteAsync(group, EtcdHistoryStore.PageSize * 2 + 100);
        var seen = await ReadCompactingAsync(group, expected, onPage => Store.ReadAsync(group, onPage, CancellationToken.None));
        Assert.That(seen.Distinct().Order(StringComparer.Ordinal), Is.EqualTo(expected.Order(StringComparer.Ordinal)));
        Assert.That(seen.Take(expected.Count - 2), Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal), "key order up to where the compaction was met");
    }

    [Test]
    public async Task A_key_order_read_that_meets_a_compaction_goes_on_where_it_was_each_entry_once()
    {
        var group = "compacted-keys-" + Guid.NewGuid().ToString("N")[..8];
        var written = await WriteAsync(group, EtcdHistoryStore.PageSize * 2 + 100);
        var seen = await ReadCompactingAsync(group, [], onPage => Store.ReadInKeyOrderAsync(group, onPage, CancellationToken.None));
        Assert.That(seen, Is.EqualTo(written.Append("9999999999999-late")),
            "in key order, each once; of what was written meanwhile, only what sorts after where the read had got to");
    }

    [Test]
    public async Task A_read_by_revision_that_meets_a_compaction_goes_on_without_loss_or_repeat()
    {
        var group = "compacted-since-" + Guid.NewGuid().ToString("N")[..8];
        var (_, before) = _etcd.CountKeys("/mesh/");
        var expected = await WriteAsync(group, EtcdHistoryStore.PageSize * 2 + 100);
        var seen = await ReadCompactingAsync(group, expected, onPage => Store.ReadSinceAsync(group, before, onPage, CancellationToken.None));
        Assert.That(seen.Order(StringComparer.Ordinal), Is.EqualTo(expected.Order(StringComparer.Ordinal)), "each entry exactly once");
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _connection?.Dispose();
        _etcd?.Dispose();
    }
}
