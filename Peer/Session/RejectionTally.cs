using Mesh.Peer.Protocol;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary>Counts what was rejected (frames from links, history entries), by source, group and reason, and logs
/// the counts every <see cref="Interval"/> (<see cref="DefaultInterval"/> unless configured) instead of a line for each: a flood of junk costs a few log lines a minute
/// and a bounded table, never a line per frame. Thread-safe (history pages are opened in parallel).</summary>
/// <remarks>A link that sends more than <see cref="LinkLimit"/> rejects within one interval is reported as
/// misbehaving, so that the session can drop it for a while.</remarks>
internal sealed partial class RejectionTally(ILogger log, TimeSpan? interval = null)
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    /// <summary>How often the totals are logged; also the window a link's rejects are counted in.</summary>
    public TimeSpan Interval { get; } = interval ?? DefaultInterval;

    public const int LinkLimit = 500;

    private const int MaxKeys = 256;

    private readonly Lock _lock = new();
    private readonly Dictionary<(string Source, string Group, RejectReason Reason), long> _counts = [];
    private readonly Dictionary<string, long> _byLink = new(StringComparer.Ordinal);
    private long _others;
    private long _windowStartMs;

    /// <summary>Notes a rejected frame from a link; true the first time that link passes <see cref="LinkLimit"/> in
    /// this interval.</summary>
    public bool NoteFrame(string peerId, string group, RejectReason reason)
    {
        lock (_lock)
        {
            Count(peerId, group, reason);
            var n = _byLink[peerId] = _byLink.GetValueOrDefault(peerId) + 1;
            if (_byLink.Count > MaxKeys)
            {
                _byLink.Clear();
            }

            return n == LinkLimit + 1;
        }
    }

    public void NoteHistory(string group, RejectReason reason)
    {
        lock (_lock)
        {
            Count("history", group, reason);
        }
    }

    private void Count(string source, string group, RejectReason reason)
    {
        var key = (source, group, reason);
        if (_counts.TryGetValue(key, out var n))
        {
            _counts[key] = n + 1;
        }
        else if (_counts.Count < MaxKeys)
        {
            _counts[key] = 1;
        }
        else
        {
            _others++;
        }
    }

    /// <summary>Logs what was counted since the last flush, if the interval has passed.</summary>
    public void Flush(long nowMs)
    {
        List<((string Source, string Group, RejectReason Reason) Key, long Count)> counts;
        long others;
        lock (_lock)
        {
            if (nowMs - _windowStartMs < Interval.TotalMilliseconds)
            {
                return;
            }

            _windowStartMs = nowMs;
            counts = _counts.Select(kv => (kv.Key, kv.Value)).ToList();
            others = _others;
            _counts.Clear();
            _byLink.Clear();
            _others = 0;
        }

        foreach (var ((source, group, reason), count) in counts.OrderByDescending(c => c.Count).Take(20))
        {
            if (source == "history")
            {
                LogHistoryRejected(count, group, reason);
            }
            else
            {
                LogFramesRejected(count, source, group, reason);
            }
        }

        var rest = counts.Skip(20).Sum(c => c.Count) + others;
        if (rest > 0)
        {
            LogOthersRejected(rest);
        }
    }

    [LoggerMessage(EventId = 501, Level = LogLevel.Warning, Message = "dropped {Count} frames from {PeerId} on '{Group}': {Reason}")]
    private partial void LogFramesRejected(long count, string peerId, string group, RejectReason reason);

    [LoggerMessage(EventId = 502, Level = LogLevel.Warning, Message = "skipped {Count} history entries in '{Group}': {Reason}")]
    private partial void LogHistoryRejected(long count, string group, RejectReason reason);

    [LoggerMessage(EventId = 506, Level = LogLevel.Warning, Message = "dropped {Count} more frames and entries from other sources")]
    private partial void LogOthersRejected(long count);
}
