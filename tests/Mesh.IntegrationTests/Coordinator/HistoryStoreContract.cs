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
        await Store.ReadAsync(group, page =>
        {
            pages++;
            all.AddRange(page);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        Assert.That(all, Has.Count.EqualTo(total));
        Assert.That(all.Select(e => e.Name), Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
        Assert.That(pages, Is.EqualTo(3));
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

    [OneTimeTearDown]
    public void Stop()
    {
        _connection?.Dispose();
        _etcd?.Dispose();
    }
}
