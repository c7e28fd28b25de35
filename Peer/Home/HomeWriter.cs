using Mesh.Coordinator.History;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;

namespace Mesh.Peer.Home;

/// <summary>The one thread (<c>mesh-home</c>) that writes this home's files: the outbox, the history copies, the epoch
/// keys and the group log copies, in the order they were handed over, so that the session's loop never waits for the
/// disk.</summary>
/// <remarks>
/// Every method returns at once. What the loop must act on comes back only through <c>post</c>, which runs it on the
/// loop: a burst's outcome, and a write that failed (<see cref="WriteFailed"/>); the thread goes on with the next
/// write. (A history copy that cannot be written also says so itself, <see cref="LocalHistory.WriteFailed"/>, raised
/// on this thread.) What returns a task (reads, moves, a trim, a flush) runs after every write handed over before it
/// and carries its failure in the task, whose continuations never run on this thread. Arguments are snapshots taken
/// on the caller's thread: lists, keys and logs may change once a call returns.
/// <para>With nothing to write the thread sleeps on a monitor, which does not spin: an idle peer does not wake it. It
/// owns the outbox and the history copies it writes: disposing it writes what was handed over, syncs the outbox and
/// closes both.</para>
/// </remarks>
public sealed class HomeWriter : IOutboxAppender, IKeyFileWriter, ILogCopyWriter, IAsyncDisposable
{
    private readonly Outbox _outbox;
    private readonly LocalHistory _local;
    private readonly EpochKeyFiles _keys;
    private readonly GroupLogCopy _logs;
    private readonly Action<Action> _post;

    /// <summary>Guards the queue and is what the idle thread waits on (a <see cref="Lock"/> has no wait).</summary>
    private readonly object _gate = new();
    private readonly Queue<Work> _queue = new();

    /// <summary>Bursts for the outbox: taken before anything else, so that a message typed in one group never waits for
    /// another group's bulk work here (its history copy read at a join, a copy rewritten by a trim).</summary>
    private readonly Queue<Work> _sent = new();
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closing;

    /// <summary>1 when a history copy took entries since the last checkpoint handed over: an idle tick's checkpoint
    /// does not wake the thread.</summary>
    private int _copyChanged;

    /// <param name="outbox">The outbox, recovered already.</param>
    /// <param name="local">The history copies.</param>
    /// <param name="keys">The epoch keys' files (<see cref="EpochKeyring.Files"/>).</param>
    /// <param name="logs">The group log copies.</param>
    /// <param name="post">Runs an action on the caller's loop, later; called from this writer's thread.</param>
    public HomeWriter(Outbox outbox, LocalHistory local, EpochKeyFiles keys, GroupLogCopy logs, Action<Action> post)
    {
        _outbox = outbox;
        _local = local;
        _keys = keys;
        _logs = logs;
        _post = post;
        _thread = new Thread(Run) { Name = "mesh-home", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Raised on the caller's loop (through post) when a write failed: what was not written, and why.</summary>
    public event Action<string>? WriteFailed;

    /// <summary>Whether the thread is asleep, waiting for work (for tests).</summary>
    internal bool Sleeping => (_thread.ThreadState & ThreadState.WaitSleepJoin) != 0;

    /// <inheritdoc/>
    public void AppendOutbox(IReadOnlyList<HistoryEntry> entries, Action<Exception?> done)
    {
        var burst = entries.ToArray();
        Enqueue(_sent, "sent messages", () =>
        {
            Exception? failed = null;
            try
            {
                _outbox.Append(burst);
            }
            catch (Exception e)
            {
                // Whatever it was, the sender must hear that the burst is not kept: it is then neither published nor shown.
                failed = e;
            }

            Post(() => done(failed));
        });
    }

    /// <summary>Adds entries to the history copy of <paramref name="group"/> (<see cref="LocalHistory.Append"/>).</summary>
    public void AppendCopy(string group, IReadOnlyList<HistoryEntry> entries, long revision)
    {
        var taken = entries.ToArray();
        Enqueue(_queue, $"the history copy of '{group}'", () => _local.Append(group, taken, revision));
        Volatile.Write(ref _copyChanged, 1);
    }

    /// <summary>Writes the revision of every history copy that advanced (<see cref="LocalHistory.Checkpoint"/>); nothing
    /// is handed over when no copy took entries since the last one.</summary>
    public void Checkpoint()
    {
        if (Interlocked.Exchange(ref _copyChanged, 0) == 1)
        {
            Enqueue(_queue, "the history copies' revisions", _local.Checkpoint);
        }
    }

    /// <summary>Starts the history copy of <paramref name="group"/> again (<see cref="LocalHistory.Replace"/>).</summary>
    public void ReplaceCopy(string group, IReadOnlyList<HistoryEntry> entries, long revision)
    {
        var taken = entries.ToArray();
        Enqueue(_queue, $"the history copy of '{group}'", () => _local.Replace(group, taken, revision));
    }

    /// <summary>Takes deleted messages' text out of the history copy of <paramref name="group"/>
    /// (<see cref="LocalHistory.Erase"/>), after every write handed over before.</summary>
    public void EraseInCopy(string group, IReadOnlyList<(string Target, string Delete)> deletes)
    {
        var taken = deletes.ToArray();
        Enqueue(_queue, $"the history copy of '{group}'", () => _local.Erase(group, taken));
    }

    /// <summary>Drops what sorts before <paramref name="bound"/> from the history copy of <paramref name="group"/>
    /// (<see cref="LocalHistory.TrimBefore"/>); the task says how many entries went.</summary>
    public Task<long> TrimCopyAsync(string group, string bound) => Submit(() => _local.TrimBefore(group, bound));

    /// <summary>Moves the history copy of <paramref name="group"/> aside (<see cref="LocalHistory.MoveAside"/>).</summary>
    public Task MoveCopyAsideAsync(string group, string aside) => Submit(() => _local.MoveAside(group, aside));

    /// <summary>The history copy of <paramref name="group"/> (<see cref="LocalHistory.Load"/>), with every write handed
    /// over before.</summary>
    public Task<LocalCopy> LoadCopyAsync(string group) => ReadAsync(() => _local.Load(group));

    /// <inheritdoc/>
    public void SaveKeys(string group, IReadOnlyDictionary<long, GroupKey> keys)
    {
        var taken = new SortedDictionary<long, GroupKey>();
        foreach (var (epoch, key) in keys)
        {
            taken[epoch] = key;
        }

        Enqueue(_queue, $"the keys of '{group}'", () => _keys.Write(group, taken));
    }

    /// <inheritdoc/>
    public void RetireKey(string group, long epoch, GroupKey key) =>
        Enqueue(_queue, $"the retired key of epoch {epoch} of '{group}'", () => _keys.WriteRetired(group, epoch, key));

    /// <inheritdoc/>
    public Task MoveKeysAsideAsync(string group, string aside) => Submit(() => _keys.MoveAside(group, aside));

    /// <inheritdoc/>
    public Task<SortedDictionary<long, GroupKey>> LoadKeysAsync(string group) => ReadAsync(() => _keys.Read(group));

    /// <inheritdoc/>
    public void SaveLogCopy(GroupLog log)
    {
        var group = log.Group;
        var records = GroupLogCopy.RecordsOf(log);
        Enqueue(_queue, $"the copy of the log of '{group}'", () => _logs.Write(group, records));
    }

    /// <inheritdoc/>
    public Task MoveLogCopyAsideAsync(string group, string aside) => Submit(() => _logs.MoveAside(group, aside));

    /// <inheritdoc/>
    public Task<GroupLog?> LoadLogCopyAsync(string group) => ReadAsync(() => _logs.Load(group));

    /// <summary>Runs <paramref name="read"/> on this thread after every write handed over before it, so that it sees
    /// them.</summary>
    public Task<T> ReadAsync<T>(Func<T> read) => Submit(read);

    /// <summary>Completes once everything handed over before is written and the outbox is on the disk; the task
    /// carries a failed sync.</summary>
    public Task FlushAsync() => Submit(_outbox.Sync);

    /// <summary>Writes everything handed over, syncs the outbox, closes the outbox and the history copies, and ends
    /// the thread. Nothing may be handed over after.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (!_closing)
            {
                _queue.Enqueue(new Work("the last of the outbox and the history copies", Close));
                _closing = true;
                Monitor.Pulse(_gate);
            }
        }

        await _stopped.Task;
    }

    private void Close()
    {
        try
        {
            _outbox.Sync();
        }
        finally
        {
            _local.Dispose();
            _outbox.Dispose();
        }
    }

    private Task Submit(Action work) => Submit(() =>
    {
        work();
        return true;
    });

    private Task<T> Submit<T>(Func<T> work)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(_queue, "", () =>
        {
            try
            {
                result.SetResult(work());
            }
            catch (Exception e)
            {
                result.SetException(e);
            }
        });
        return result.Task;
    }

    private void Enqueue(Queue<Work> queue, string what, Action write)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_closing, this);
            queue.Enqueue(new Work(what, write));
            if (_queue.Count + _sent.Count == 1)
            {
                // The thread waits only on an empty queue: the first item is the only one that may need to wake it.
                Monitor.Pulse(_gate);
            }
        }
    }

    private void Run()
    {
        try
        {
            while (Next() is { } work)
            {
                Do(work);
            }
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    /// <summary>The next write, waiting for one; null once closed and everything is written.</summary>
    private Work? Next()
    {
        lock (_gate)
        {
            while (_queue.Count == 0 && _sent.Count == 0)
            {
                if (_closing)
                {
                    return null;
                }

                Monitor.Wait(_gate);
            }

            return _sent.Count > 0 ? _sent.Dequeue() : _queue.Dequeue();
        }
    }

    private void Do(Work work)
    {
        try
        {
            work.Write();
        }
        catch (Exception e)
        {
            // A failed write costs that write alone: the next one goes on.
            Post(() => WriteFailed?.Invoke($"{work.What} not written: {e.Message}"));
        }
    }

    private void Post(Action action)
    {
        try
        {
            _post(action);
        }
        catch (Exception)
        {
            // The loop is gone (the session ended): nobody is left to tell, and the writes still go on.
        }
    }

    /// <summary>One write: what it writes (for a failure's message), and how.</summary>
    private sealed record Work(string What, Action Write);
}
