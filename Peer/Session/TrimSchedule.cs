namespace Mesh.Peer.Session;

/// <summary>When this member trims a group's history to its retention: at most once per interval across the group,
/// and never held off for good by whoever moves the claim key.</summary>
/// <remarks>
/// A member claims the trim when the claim key has not moved for a whole interval as it watched (so the member that
/// has waited longest goes first, and then the key moves for everyone). Because the key is unsigned, an etcd writer
/// could keep moving it: a bound this member found two intervals ago that still has history before it means no one
/// trimmed, and the member then trims anyway. Pure: the caller brings the etcd facts and the time.
/// </remarks>
internal sealed class TrimSchedule(TimeSpan interval)
{
    private readonly long _intervalMs = (long)interval.TotalMilliseconds;
    private readonly Dictionary<string, Watch> _groups = new(StringComparer.Ordinal);

    public TimeSpan Interval => interval;

    /// <summary>What to do now that the claim key is at <paramref name="claimRevision"/> and this member's bound is
    /// <paramref name="bound"/> (remembered, to tell later whether anyone trimmed up to it).</summary>
    public TrimTurn Decide(string group, long claimRevision, string bound, long nowMs)
    {
        if (!_groups.TryGetValue(group, out var watch))
        {
            _groups[group] = watch = new Watch { Revision = claimRevision, SinceMs = nowMs };
        }
        else if (watch.Revision != claimRevision)
        {
            watch.Revision = claimRevision;
            watch.SinceMs = nowMs;
        }

        // The bound to check two intervals from now (a new one once the old one was checked).
        watch.Pending ??= (bound, nowMs);

        return nowMs - watch.SinceMs >= _intervalMs ? TrimTurn.Claim : TrimTurn.Wait;
    }

    /// <summary>A bound this member found two intervals ago or more: history still before it means no one trimmed.</summary>
    public string? StaleBound(string group, long nowMs)
    {
        if (!_groups.TryGetValue(group, out var watch))
        {
            return null;
        }

        if (watch.Pending is { } pending && nowMs - pending.AtMs >= 2 * _intervalMs)
        {
            watch.Pending = null;
            return pending.Bound;
        }

        return null;
    }

    /// <summary>This member trimmed (its claim landed): the interval starts again.</summary>
    public void Trimmed(string group, long claimRevision, long nowMs)
    {
        if (_groups.TryGetValue(group, out var watch))
        {
            watch.Revision = claimRevision;
            watch.SinceMs = nowMs;
            watch.Pending = null;
        }
    }

    public void Forget(string group) => _groups.Remove(group);

    private sealed class Watch
    {
        public long Revision { get; set; }

        public long SinceMs { get; set; }

        public (string Bound, long AtMs)? Pending { get; set; }
    }
}

/// <summary>What a member does about trimming a group's history now.</summary>
internal enum TrimTurn
{
    /// <summary>Someone trimmed within the interval: wait.</summary>
    Wait,

    /// <summary>No one did: take the claim (compare-and-swap), and trim if it lands.</summary>
    Claim,
}
