namespace Mesh.Peer.Protocol;

/// <summary>Order stamps for the messages a peer sends: a hybrid logical clock in milliseconds.</summary>
/// <remarks>
/// A stamp is the later of the peer's clock and one past every stamp it has seen (live or from history), and never
/// goes backwards: a reply always sorts after what it replies to, whatever the two senders' clocks say, and each
/// sender's messages sort in the order sent. History keys start with the stamp, so etcd, a late joiner, a restart
/// from the local copy and <c>mesh history</c> all list a group in the same order. A stamp more than
/// <see cref="MaxAheadMs"/> beyond this peer's clock is not followed (a sender with a clock years ahead must not drag
/// every other clock with it); the message itself is still shown.
/// </remarks>
public sealed class HybridClock
{
    public const long MaxAheadMs = 24 * 3600 * 1000L;

    private long _last;
    private long _seen;

    /// <summary>The stamp for the next message sent at <paramref name="nowMs"/> (this peer's clock).</summary>
    public long Next(long nowMs)
    {
        _last = Math.Max(Math.Max(nowMs, _seen + 1), _last);
        return _last;
    }

    /// <summary>Takes note of a message seen at <paramref name="nowMs"/>.</summary>
    public void Observe(long order, long nowMs)
    {
        if (order > _seen && order <= nowMs + MaxAheadMs)
        {
            _seen = order;
        }
    }
}
