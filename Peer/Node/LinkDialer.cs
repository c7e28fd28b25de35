namespace Mesh.Peer.Node;

/// <summary>When a link that is not up should be dialled again from scratch.</summary>
/// <remarks>ZeroMQ retries a refused connection by itself, but a connection attempt to a host that has vanished (its
/// cable pulled, a partition) waits on the kernel's SYN retries, which back off to a minute and more: after the host
/// is back, the link would stay down until the next retry happens to go out. So an attempt that has not brought the
/// link up within <see cref="RedialAfter"/> is abandoned and a fresh one started: a host that comes back is reached
/// within that time. Not thread-safe: the node's poller owns it.</remarks>
public sealed class LinkDialer(long nowMs)
{
    /// <summary>Many round trips of any real network: an attempt older than this is not going to complete soon.</summary>
    public static readonly TimeSpan RedialAfter = TimeSpan.FromSeconds(3);

    private long _dialedAtMs = nowMs;

    /// <summary>Whether the member's hello came on the current connection.</summary>
    public bool Up { get; private set; }

    /// <summary>How many times the link was dialled again from scratch.</summary>
    public int Redials { get; private set; }

    /// <summary>The member's hello came: the link works.</summary>
    public void OnUp() => Up = true;

    /// <summary>The connection dropped (ZeroMQ dials again by itself, now).</summary>
    public void OnDropped(long nowMs)
    {
        Up = false;
        _dialedAtMs = nowMs;
    }

    /// <summary>ZeroMQ started another attempt after a failed one.</summary>
    public void OnRetried(long nowMs)
    {
        if (!Up)
        {
            _dialedAtMs = nowMs;
        }
    }

    public bool RedialDue(long nowMs) => !Up && nowMs - _dialedAtMs >= RedialAfter.TotalMilliseconds;

    public void OnRedialed(long nowMs)
    {
        _dialedAtMs = nowMs;
        Redials++;
    }
}
