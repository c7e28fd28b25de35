using System.Threading.Channels;
using Mesh.Coordinator.Etcd;
using Microsoft.Extensions.Logging;

namespace Mesh.Coordinator.History;

/// <summary>Writes a peer's sent messages to history in the background, batching whatever queued up meanwhile.</summary>
/// <remarks>
/// One transaction is in flight at a time. While it is, new messages queue; the next transaction takes all of them
/// (up to etcd's per-transaction limits). An idle sender therefore pays one round trip per message, a busy one far
/// fewer than one. A failed batch is retried, with back-off, until it lands: appends are create-only, so a retry
/// never duplicates. Entries of one sender land in the order they were queued.
/// <para>A batch smaller than a transaction waits <see cref="Linger"/> for more first (not when closing): a member
/// chatting at tens of messages a second then costs etcd a few transactions a second, not one per message, and on a
/// small machine the CPU a round trip costs (gRPC, etcd's fsync) is CPU the live path gets back. What waits is
/// already in the outbox, so nothing is less durable; history is a few milliseconds later.</para>
/// </remarks>
public sealed partial class HistoryWriter : IAsyncDisposable
{
    private readonly IHistoryStore _store;
    private readonly ILogger _log;
    private readonly Channel<HistoryEntry> _queue = Channel.CreateUnbounded<HistoryEntry>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _abandon = new();
    private readonly Task _loop;
    private long _pending;
    private long _written;
    private long _transactions;

    /// <summary>How long a small batch waits for more before it is written.</summary>
    public static readonly TimeSpan DefaultLinger = TimeSpan.FromMilliseconds(20);

    private readonly TimeSpan _linger;

    /// <summary>How long writes must keep failing before the user is told: a failed attempt that the next one, on
    /// another etcd member, puts right is not news (a member that lost its leader refuses a third of the calls).</summary>
    public static readonly TimeSpan DefaultQuietFor = TimeSpan.FromSeconds(2);

    private readonly TimeSpan _quietFor;

    public HistoryWriter(IHistoryStore store, ILogger log, TimeSpan? linger = null, TimeSpan? quietFor = null)
    {
        _store = store;
        _log = log;
        _linger = linger ?? DefaultLinger;
        _quietFor = quietFor ?? DefaultQuietFor;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Messages queued and not yet acknowledged by the store.</summary>
    public long Pending => Interlocked.Read(ref _pending);

    public long Written => Interlocked.Read(ref _written);

    public long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>Linger as configured (for tests).</summary>
    public TimeSpan Linger => _linger;

    /// <summary>Raised (from the writer's loop) with the size of each batch the store acknowledged.</summary>
    public event Action<int>? BatchWritten;

    /// <summary>Raised (from the writer's loop) with each batch the store acknowledged, after <see cref="BatchWritten"/>.</summary>
    public event Action<IReadOnlyList<HistoryEntry>>? EntriesWritten;

    /// <summary>Raised (from the writer's loop) when the store starts failing and when it recovers.</summary>
    public event Action<bool, string>? HealthChanged;

    /// <summary>What a writer says when etcd refuses history for lack of space: the start of its health message.</summary>
    public const string FullMessage = "etcd is full (NOSPACE alarm): history paused, live chat goes on";

    private readonly Lock _waitersLock = new();
    private readonly List<(long Upto, TaskCompletionSource Done)> _waiters = [];
    private long _enqueued;

    /// <summary>Completes once every entry enqueued before the call is in the store (the writer retries until it is).</summary>
    public Task WhenWrittenAsync()
    {
        lock (_waitersLock)
        {
            var upto = Interlocked.Read(ref _enqueued);
            if (Written >= upto)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((upto, done));
            return done.Task;
        }
    }

    private void ReleaseWaiters()
    {
        lock (_waitersLock)
        {
            var written = Written;
            foreach (var (_, done) in _waiters.Where(w => w.Upto <= written))
            {
                done.TrySetResult();
            }

            _waiters.RemoveAll(w => w.Upto <= written);
        }
    }

    public void Enqueue(HistoryEntry entry)
    {
        Interlocked.Increment(ref _enqueued);
        Interlocked.Increment(ref _pending);
        if (!_queue.Writer.TryWrite(entry))
        {
            Interlocked.Decrement(ref _pending);
            Interlocked.Decrement(ref _enqueued);
            throw new InvalidOperationException("the history writer is closed");
        }
    }

    private async Task RunAsync()
    {
        var batch = new List<HistoryEntry>(EtcdHistoryStore.MaxOpsPerTransaction);
        var backoff = new Backoff(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5));
        var failing = false;
        var full = false;
        long? failingSince = null;
        HistoryEntry? carried = null;
        var reader = _queue.Reader;
        while (carried is not null || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            var bytes = 0;
            if (carried is not null)
            {
                batch.Add(carried);
                bytes += carried.Value.Length;
                carried = null;
            }

            var lingered = false;
            while (batch.Count < EtcdHistoryStore.MaxOpsPerTransaction)
            {
                if (!reader.TryRead(out var next))
                {
                    if (lingered || _linger <= TimeSpan.Zero || batch.Count == 0)
                    {
                        break;
                    }

                    lingered = true;
                    try
                    {
                        await Task.Delay(_linger, _abandon.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    continue;
                }

                if (batch.Count > 0 && bytes + next.Value.Length > EtcdHistoryStore.MaxBytesPerTransaction)
                {
                    carried = next;
                    break;
                }

                batch.Add(next);
                bytes += next.Value.Length;
            }

            while (true)
            {
                try
                {
                    await _store.AppendAsync(batch, _abandon.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    var delay = backoff.Next();
                    LogAppendFailed(batch.Count, e.Message, delay.TotalMilliseconds);
                    var noSpace = e is EtcdUnavailableException { NoSpace: true };
                    failingSince ??= System.Diagnostics.Stopwatch.GetTimestamp();
                    var persistent = noSpace || System.Diagnostics.Stopwatch.GetElapsedTime(failingSince.Value) >= _quietFor;
                    if (persistent && (!failing || noSpace != full))
                    {
                        // Said once per outage, and again if its cause turns into (or out of) a full etcd.
                        failing = true;
                        full = noSpace;
                        Raise(HealthChanged, (false, noSpace
                            ? $"{FullMessage}; {Pending} sent messages wait in the outbox and are written once etcd has room again (docs/monitoring.md says how to make room)"
                            : $"history writes failing: {e.Message}; retrying"));
                    }

                    try
                    {
                        await Task.Delay(delay, _abandon.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    continue;
                }

                break;
            }

            // Acknowledged once, after etcd has the batch, and outside the retry: a handler that throws can neither
            // make the batch be written again nor acknowledge it twice (which would drop records not yet in etcd).
            Interlocked.Add(ref _pending, -batch.Count);
            Interlocked.Add(ref _written, batch.Count);
            Interlocked.Increment(ref _transactions);
            ReleaseWaiters();
            backoff.Reset();
            failingSince = null;
            Raise(BatchWritten, batch.Count);
            RaiseEntries(batch);
            if (failing)
            {
                failing = false;
                full = false;
                LogRecovered(batch.Count);
                Raise(HealthChanged, (true, "history writes resumed"));
            }
        }
    }

    /// <summary>Calls every handler, each on its own: one that throws is logged and keeps the others from nothing.</summary>
    private void Raise(Action<int>? handlers, int count)
    {
        foreach (var handler in handlers?.GetInvocationList().Cast<Action<int>>() ?? [])
        {
            try
            {
                handler(count);
            }
            catch (Exception e)
            {
                LogHandlerFailed(e.Message);
            }
        }
    }

    private void RaiseEntries(List<HistoryEntry> batch)
    {
        foreach (var handler in EntriesWritten?.GetInvocationList().Cast<Action<IReadOnlyList<HistoryEntry>>>() ?? [])
        {
            try
            {
                handler(batch);
            }
            catch (Exception e)
            {
                LogHandlerFailed(e.Message);
            }
        }
    }

    private void Raise(Action<bool, string>? handlers, (bool Healthy, string Message) change)
    {
        foreach (var handler in handlers?.GetInvocationList().Cast<Action<bool, string>>() ?? [])
        {
            try
            {
                handler(change.Healthy, change.Message);
            }
            catch (Exception e)
            {
                LogHandlerFailed(e.Message);
            }
        }
    }

    /// <summary>Stops taking messages and waits until every queued one is written, or the timeout passes.</summary>
    /// <returns>How many messages could not be written in time.</returns>
    public async Task<long> FlushAndCloseAsync(TimeSpan timeout)
    {
        _queue.Writer.TryComplete();
        var finished = await Task.WhenAny(_loop, Task.Delay(timeout)).ConfigureAwait(false) == _loop;
        if (!finished)
        {
            await _abandon.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
        }

        return Pending;
    }

    public async ValueTask DisposeAsync()
    {
        await FlushAndCloseAsync(TimeSpan.Zero).ConfigureAwait(false);
        _abandon.Dispose();
    }

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "history append of {Count} failed: {Reason}; retrying in {DelayMs:F0} ms")]
    private partial void LogAppendFailed(int count, string reason, double delayMs);

    [LoggerMessage(EventId = 303, Level = LogLevel.Error, Message = "a handler of written history failed: {Reason}")]
    private partial void LogHandlerFailed(string reason);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "history writes resumed ({Count} written)")]
    private partial void LogRecovered(int count);
}
