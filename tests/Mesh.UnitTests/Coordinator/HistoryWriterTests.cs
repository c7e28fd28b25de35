using Mesh.Coordinator.History;
using Mesh.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.UnitTests.Coordinator;

[Category("Unit")]
public sealed class HistoryWriterTests
{
    private static HistoryEntry Entry(int i) => new("g", $"{i:D10}", new byte[10]);

    private static async Task<int> CountAsync(IHistoryStore store)
    {
        var count = 0;
        await store.ReadAsync("g", page =>
        {
            count += page.Count;
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        return count;
    }

    [Test]
    public async Task A_burst_is_written_in_far_fewer_transactions_than_messages()
    {
        var store = new InMemoryHistoryStore();
        await using var writer = new HistoryWriter(store, NullLogger.Instance);
        for (var i = 0; i < 1000; i++)
        {
            writer.Enqueue(Entry(i));
        }

        Assert.That(await writer.FlushAndCloseAsync(TimeSpan.FromSeconds(30)), Is.Zero);
        Assert.That(await CountAsync(store), Is.EqualTo(1000));
        Assert.That(store.AppendCalls, Is.LessThanOrEqualTo(1000 / EtcdHistoryStore.MaxOpsPerTransaction + 2));
    }

    [Test]
    public async Task What_was_enqueued_before_asking_is_known_written_only_once_the_store_holds_it_after_failures()
    {
        var store = new InMemoryHistoryStore { FailNextAppend = new IOException("etcd down") };
        await using var writer = new HistoryWriter(store, NullLogger.Instance, quietFor: TimeSpan.Zero);
        Assert.That(writer.WhenWrittenAsync().IsCompleted, Is.True, "nothing enqueued: nothing to wait for");
        for (var i = 0; i < 300; i++)
        {
            writer.Enqueue(Entry(i));
        }

        var written = writer.WhenWrittenAsync();
        await written.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(await CountAsync(store), Is.EqualTo(300), "all 300 in the store when it completed");
    }

    [Test]
    public async Task Messages_that_trickle_in_within_the_linger_share_one_transaction()
    {
        var store = new InMemoryHistoryStore();
        await using var writer = new HistoryWriter(store, NullLogger.Instance, TimeSpan.FromSeconds(2));
        writer.Enqueue(Entry(1));
        await Task.Yield();
        writer.Enqueue(Entry(2));
        writer.Enqueue(Entry(3));
        await Waiting.UntilAsync(() => writer.Written == 3, TimeSpan.FromSeconds(30), "all three written");
        Assert.That(store.AppendCalls, Is.EqualTo(1), "a lone first message waited for the two after it");
    }

    [Test]
    public async Task A_failed_append_is_retried_until_it_lands_without_duplicates()
    {
        var store = new InMemoryHistoryStore { FailNextAppend = new IOException("etcd down") };
        await using var writer = new HistoryWriter(store, NullLogger.Instance, quietFor: TimeSpan.Zero);
        var health = new List<bool>();
        writer.HealthChanged += (ok, _) => { lock (health) { health.Add(ok); } };
        writer.Enqueue(Entry(1));
        writer.Enqueue(Entry(2));
        await Waiting.UntilAsync(() => writer.Written == 2, TimeSpan.FromSeconds(30), "both written");
        // The recovery is said just after the count moves: wait for it, not for the count alone.
        await Waiting.UntilAsync(() => { lock (health) { return health.Count >= 2; } }, TimeSpan.FromSeconds(30), "the recovery said");
        Assert.That(await CountAsync(store), Is.EqualTo(2));
        lock (health)
        {
            Assert.That(health, Is.EqualTo(new[] { false, true }), "failure reported, then recovery");
        }
    }

    [Test]
    public async Task A_failure_that_the_next_attempt_puts_right_is_not_reported()
    {
        var store = new InMemoryHistoryStore { FailNextAppend = new IOException("a member without a leader") };
        await using var writer = new HistoryWriter(store, NullLogger.Instance, quietFor: TimeSpan.FromSeconds(30));
        var health = new List<bool>();
        writer.HealthChanged += (ok, _) => { lock (health) { health.Add(ok); } };
        writer.Enqueue(Entry(1));
        Assert.That(await writer.FlushAndCloseAsync(TimeSpan.FromSeconds(30)), Is.Zero);
        Assert.That(store.AppendCalls, Is.EqualTo(2), "failed once, then written");
        lock (health)
        {
            Assert.That(health, Is.Empty, "neither a failure nor a recovery to tell");
        }
    }

    [Test]
    public async Task A_handler_that_throws_neither_rewrites_nor_acknowledges_a_batch_twice()
    {
        var store = new InMemoryHistoryStore();
        await using var writer = new HistoryWriter(store, NullLogger.Instance);
        long acknowledged = 0;
        writer.BatchWritten += _ => throw new InvalidOperationException("a broken handler");
        writer.BatchWritten += count => Interlocked.Add(ref acknowledged, count);
        for (var i = 0; i < 10; i++)
        {
            writer.Enqueue(Entry(i));
        }

        Assert.That(await writer.FlushAndCloseAsync(TimeSpan.FromSeconds(30)), Is.Zero);
        Assert.That(Interlocked.Read(ref acknowledged), Is.EqualTo(10), "every record acknowledged once, the other handler notwithstanding");
        Assert.That(writer.Written, Is.EqualTo(10));
        Assert.That(store.AppendCalls, Is.LessThanOrEqualTo(2), "no batch written again because a handler threw");
    }

    [Test]
    public async Task Flush_reports_what_could_not_be_written_in_time()
    {
        var store = new NeverAnswers();
        await using var writer = new HistoryWriter(store, NullLogger.Instance);
        writer.Enqueue(Entry(1));
        Assert.That(await writer.FlushAndCloseAsync(TimeSpan.FromMilliseconds(300)), Is.EqualTo(1));
    }

    private sealed class NeverAnswers : IHistoryStore
    {
        public long ValuesLeftOut => 0;

        public Task AppendAsync(IReadOnlyList<HistoryEntry> entries, CancellationToken ct) => Task.Delay(Timeout.Infinite, ct);

        public Task<bool> ReplaceAsync(HistoryEntry current, HistoryEntry replacement, CancellationToken ct) => Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => false, ct);

        public Task<long> ReadAsync(string group, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct) => Task.FromResult(0L);

        public Task<long> ReadInKeyOrderAsync(string group, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct) => Task.FromResult(0L);

        public Task<long> ReadSinceAsync(string group, long afterRevision, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct) =>
            Task.FromResult(0L);

        public Task<long> ReadNamesSinceAsync(string group, long afterRevision, Func<IReadOnlyList<string>, ValueTask> onPage, CancellationToken ct) =>
            Task.FromResult(0L);

        public Task<IReadOnlyList<HistoryEntry>> GetAsync(string group, IReadOnlyList<string> names, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<HistoryEntry>>([]);

        public Task<long?> CountAsync(string group, long revision, CancellationToken ct, string? from = null) => Task.FromResult<long?>(0);

        public Task<long> CountBeforeAsync(string group, string bound, CancellationToken ct) => Task.FromResult(0L);

        public Task<long> DeleteBeforeAsync(string group, string bound, CancellationToken ct) => Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => 0L, ct);
    }
}
