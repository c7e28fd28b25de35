using Mesh.Coordinator.Membership;

namespace Mesh.Peer.Session;

/// <summary>When this peer's link report (<c>/mesh/links/{peer}</c>, what mesh monitor shows) is due again: at once
/// when a link goes up or down, and when a round trip has moved by a quarter (and at least a millisecond), or
/// appeared or gone, but then no more often than every <see cref="RttEvery"/>: round trips jitter, and every write
/// is an etcd revision. Session loop only.</summary>
internal sealed class LinkReport
{
    public static readonly TimeSpan RttEvery = TimeSpan.FromSeconds(10);

    private const double Band = 0.25;
    private const double MinMoveMs = 1;

    private LinkStates? _written;
    private long _writtenAtMs;

    /// <summary>Whether <paramref name="next"/> should be written now.</summary>
    public bool Due(LinkStates next, long nowMs)
    {
        if (_written is not { } written)
        {
            return true;
        }

        if (!written.Up.SequenceEqual(next.Up) || !written.Down.SequenceEqual(next.Down))
        {
            return true;
        }

        return nowMs - _writtenAtMs >= RttEvery.TotalMilliseconds && next.Up.Any(peer => Moved(written.RttOf(peer), next.RttOf(peer)));
    }

    private static bool Moved(double? before, double? now) => (before, now) switch
    {
        (null, null) => false,
        ({ } a, { } b) => Math.Abs(a - b) >= Math.Max(MinMoveMs, Band * a),
        _ => true,
    };

    public void Written(LinkStates report, long nowMs)
    {
        _written = report;
        _writtenAtMs = nowMs;
    }

    /// <summary>The last write failed: the next report is due whatever it says.</summary>
    public void Forget() => _written = null;
}
