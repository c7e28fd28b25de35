using Mesh.Coordinator.Groups;

namespace Mesh.Peer.Groups;

/// <summary>The one path by which a peer commits to a group's log: intents queue, one try is in flight at a time, each
/// try is built against the log as it stands and compares against what occupies the next index now. Pure: it says what
/// to write, the session writes it and reports back.</summary>
/// <remarks>
/// A try that loses to a valid entry is not counted: the log moved on, and the intent is built again on top of it (or
/// found no longer needed). A try that loses to junk (written, deleted, rewritten) is counted; after
/// <see cref="MaxJunkTries"/> in a row the intent gives up, so that an etcd writer flooding one key costs a bounded number
/// of round trips and one clear message, and what is still needed is planned again.
/// </remarks>
public sealed class LogCommitter
{
    /// <summary>Tries lost to records the log refuses before an intent gives up.</summary>
    public const int MaxJunkTries = 12;

    private readonly Queue<CommitIntent> _queue = new();
    private CommitIntent? _current;
    private GroupCommits.Commit? _inFlight;
    private int _junkTries;
    private long _retryAtMs;

    /// <summary>How long after a try etcd did not answer the next one goes.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>A try is on its way to etcd.</summary>
    public bool InFlight => _inFlight is not null;

    /// <summary>Intents waiting, the current one included.</summary>
    public int Pending => _queue.Count + (_current is null ? 0 : 1);

    /// <summary>The keys the current intent deletes once it landed.</summary>
    public IReadOnlyList<string> CurrentThenDelete => _current?.ThenDelete ?? [];

    public void Enqueue(CommitIntent intent) => _queue.Enqueue(intent);

    /// <summary>The next try to write, or null when nothing is to be done now (a try is in flight, or nothing is
    /// queued). Intents the log no longer needs are ended here, in <paramref name="ended"/>.</summary>
    public (LogAppend Append, GroupCommits.Commit Commit)? NextTry(GroupLog log, long nextSlotRevision, long nowMs, List<(CommitIntent, CommitEnd)> ended)
    {
        if (_inFlight is not null || nowMs < _retryAtMs)
        {
            return null;
        }

        while (true)
        {
            if (_current is null)
            {
                if (!_queue.TryDequeue(out _current))
                {
                    return null;
                }

                _junkTries = 0;
            }

            if (_current.Build(log) is not { } commit)
            {
                ended.Add((_current, CommitEnd.NotNeeded));
                _current = null;
                continue;
            }

            _inFlight = commit;
            var inTransaction = GroupLogStore.MaxAlongside - commit.Following.Count;
            var append = new LogAppend(log.Group, commit.Index, commit.Record, commit.Grants.Take(inTransaction).ToList(), commit.Following, nextSlotRevision);
            return (append, commit);
        }
    }

    /// <summary>The try came back. <paramref name="lostToJunk"/>: it was not written and the index holds a record the log
    /// refused (or nothing) rather than a valid entry. Returns the intent that ended, if one did.</summary>
    public (CommitIntent Intent, CommitEnd End)? Completed(bool written, bool lostToJunk)
    {
        var current = _current!;
        _inFlight = null;
        if (written)
        {
            _current = null;
            return (current, CommitEnd.Landed);
        }

        if (lostToJunk && ++_junkTries >= MaxJunkTries)
        {
            _current = null;
            return (current, CommitEnd.GaveUp);
        }

        return null;
    }

    /// <summary>The try failed without an answer (etcd unreachable): the intent stays current, to be tried again after
    /// <see cref="RetryAfter"/>.</summary>
    public void Failed(long nowMs)
    {
        _inFlight = null;
        _retryAtMs = nowMs + (long)RetryAfter.TotalMilliseconds;
    }

    /// <summary>Ends every intent (the group is dropped): each is told <see cref="CommitEnd.NotNeeded"/>.</summary>
    public IReadOnlyList<CommitIntent> Clear()
    {
        var all = (_current is null ? _queue : _queue.Prepend(_current)).ToList();
        _queue.Clear();
        _current = null;
        _inFlight = null;
        return all;
    }
}
