namespace Mesh.Peer.Session;

/// <summary>When a group's history in etcd is read for what the live path missed, instead of watching every message
/// come back a second time.</summary>
/// <remarks>
/// A sweep lists the names written since the revision the local copy is complete up to and fetches only those this
/// peer lacks. It is due at once (at most once a <see cref="MinIntervalMs"/>) when a gap is known: a member's beat
/// names a message that did not arrive, one waits behind a missing one, a link was lost, the group was just joined.
/// A gap that sweeps do not fill (the sender's write is late, or a member lies) is read again at a doubling interval up
/// to <see cref="MaxIntervalMs"/>. While a member's link is down, sweeps run every <see cref="LinksDownIntervalMs"/>;
/// otherwise every <paramref name="periodicMs"/> (<see cref="PeriodicMs"/> unless configured), for writers no link
/// carries (the copy's revision moves on too). At most one sweep runs at a time. Time is in Unix milliseconds, given by
/// the caller.
/// </remarks>
public sealed class HistorySweep(long nowMs, long periodicMs = HistorySweep.PeriodicMs)
{
    public const long MinIntervalMs = 1_000;

    public const long MaxIntervalMs = 30_000;

    public const long LinksDownIntervalMs = 5_000;

    public const long PeriodicMs = 30_000;

    private long _lastStartMs = long.MinValue / 2;
    private long _lastDoneMs = nowMs;
    private long _intervalMs = MinIntervalMs;
    private bool _gapKnown;
    private bool _forGap;

    public bool InFlight { get; private set; }

    /// <summary>Whether some member of the group has no working link.</summary>
    public bool LinksDown { get; set; }

    /// <summary>How many sweeps were started.</summary>
    public long Started { get; private set; }

    /// <summary>A message is known to be missing, or may be (a link was lost).</summary>
    public void NoteGap() => _gapKnown = true;

    /// <summary>Whether a gap waits for its sweep.</summary>
    public bool GapKnown => _gapKnown;

    public bool Due(long nowMs)
    {
        if (InFlight)
        {
            return false;
        }

        if (_gapKnown)
        {
            return nowMs - _lastStartMs >= _intervalMs;
        }

        return nowMs - _lastDoneMs >= (LinksDown ? Math.Min(LinksDownIntervalMs, periodicMs) : periodicMs);
    }

    public void Start(long nowMs)
    {
        InFlight = true;
        _forGap = _gapKnown;
        _gapKnown = false;
        _lastStartMs = nowMs;
        Started++;
    }

    /// <summary>The sweep ended; <paramref name="foundMissing"/> when it brought messages this peer lacked.</summary>
    public void Complete(long nowMs, bool foundMissing)
    {
        InFlight = false;
        _lastDoneMs = nowMs;
        // Only a gap that sweeps keep failing to fill slows them down; a periodic sweep that finds nothing is normal.
        _intervalMs = _forGap && !foundMissing ? Math.Min(MaxIntervalMs, _intervalMs * 2) : MinIntervalMs;
    }
}
