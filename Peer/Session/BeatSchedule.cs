namespace Mesh.Peer.Session;

/// <summary>When this peer's next beat leaves. While what the beats say changes (messages sent, the log moved), a beat
/// leaves once a second, so that a member who lost the last messages learns of it within a second. While they say the
/// same, the interval doubles up to <see cref="Quiet"/>: an idle group costs its members almost nothing. A change, or
/// a link that comes up (<see cref="Soon"/>), makes the next beat leave at the next tick.</summary>
internal sealed class BeatSchedule
{
    /// <summary>The interval while what the beats say changes.</summary>
    public static readonly TimeSpan Busy = TimeSpan.FromSeconds(1);

    /// <summary>The longest interval between beats that say the same.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromSeconds(16);

    private long _lastMs = long.MinValue / 2;
    private long _intervalMs = (long)Busy.TotalMilliseconds;
    private int? _said;
    private bool _soon = true;

    /// <summary>A beat should leave at the next tick (a link came up: the member learns what this peer sent).</summary>
    public void Soon() => _soon = true;

    /// <summary>Whether a beat leaves now, given a digest of what it would say; when it does, the schedule moves on.</summary>
    public bool Due(long nowMs, int said)
    {
        var changed = _said != said;
        var busy = (long)Busy.TotalMilliseconds;
        var due = changed || _soon
            ? nowMs - _lastMs >= busy || _soon
            : nowMs - _lastMs >= _intervalMs;
        if (!due)
        {
            return false;
        }

        _intervalMs = changed ? busy : Math.Min(_intervalMs * 2, (long)Quiet.TotalMilliseconds);
        _said = said;
        _soon = false;
        _lastMs = nowMs;
        return true;
    }
}
