using Mesh.Coordinator.Membership;

namespace Mesh.Peer.Session;

/// <summary>When this peer's link report (<c>/mesh/links/{peer}</c>, what mesh monitor shows) is due again: at once
/// when a link goes up or down or gets its first round trip; when a round trip has moved by half (and at least 5 ms)
/// or gone, no more often than every <see cref="RttEvery"/>. Round trips jitter, and every write is an etcd revision
/// of a record that grows with the group: with a quarter, 1 ms and 10 s, three idle peers on loopback wrote 15
/// reports a minute; with these, 3. The exact round trips are in InfluxDB (<c>mesh_link_rtt</c>). Session loop only.</summary>
internal sealed class LinkReport
{
    public static readonly TimeSpan RttEvery = TimeSpan.FromSeconds(30);

    private const double Band = 0.5;
    private const double MinMoveMs = 5;

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

        // A first reading of a link is due at once (a link comes up before its first round trip is measured).
        if (next.Up.Any(peer => written.RttOf(peer) is null && next.RttOf(peer) is not null))
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
