using NetMQ;
using NetMQ.Monitoring;
using NetMQ.Sockets;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Node;

/// <summary>A Curve-authenticated SUB socket connected to one member's PUB socket. Poller thread only.</summary>
internal sealed class SubscriberLink : IDisposable
{
    /// <summary>A heartbeat (a ZMTP ping) leaves every this long, whatever the traffic: each costs both ends a few
    /// thread wake-ups, the largest part of what an idle link costs. Pings every 5 s (noticing a silent link in 5-10 s)
    /// took an idle peer from 12,400 to 4,800 context switches a minute, but a network blip of 5 s then went unnoticed
    /// and a cut-off host was seen leaving (its lease) rather than cut off: docs/performance.md.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(1);

    /// <summary>A silent link is declared dead after this long without an answer to its heartbeat: a member that froze
    /// or was cut off is noticed within <see cref="HeartbeatInterval"/> plus this.</summary>
    public static readonly TimeSpan HeartbeatTimeout = TimeSpan.FromSeconds(3);

    private readonly HashSet<string> _groups = new(StringComparer.Ordinal);

    public SubscriberLink(LinkSpec spec, NetMQCertificate own, int maxFrameBytes, int highWaterMark)
    {
        Spec = spec;
        Socket = new SubscriberSocket();
        Socket.Options.CurveCertificate = own;
        Socket.Options.CurveServerKey = spec.ServerKey;
        Socket.Options.ReceiveHighWatermark = highWaterMark;
        Socket.Options.MaxMsgSize = maxFrameBytes;
        Socket.Options.Linger = TimeSpan.Zero;
        // NetMQ doubles the reconnect interval up to the cap, without jitter: a random base per link keeps links
        // that dropped together (a member restarting, a network blip) from retrying in lockstep.
        Socket.Options.ReconnectInterval = TimeSpan.FromMilliseconds(100 + Random.Shared.Next(100));
        // Refused attempts (the member's host is up, its peer is not) back off to this; attempts that hang are
        // restarted by the dialer.
        Socket.Options.ReconnectIntervalMax = TimeSpan.FromSeconds(2);
        // ZMTP heartbeats: a member that dies or freezes without closing its connection is noticed within seconds.
        Socket.Options.HeartbeatInterval = HeartbeatInterval;
        Socket.Options.HeartbeatTimeout = HeartbeatTimeout;
        // The member's end drops the connection when no ping came for this long.
        Socket.Options.HeartbeatTtl = HeartbeatTimeout;
        Monitor = new NetMQMonitor(Socket, $"inproc://mesh-link-{Guid.NewGuid():N}", SocketEvents.Disconnected | SocketEvents.ConnectRetried);
        // Group topics first, the hello topic last: subscriptions reach the publisher in order, so when its hello
        // answers the last one, the group subscriptions are already in place.
        try
        {
            ApplyGroups(spec.Groups);
            Socket.Subscribe(Topics.Hello);
            Socket.Connect(spec.Endpoint);
        }
        catch
        {
            // An endpoint ZeroMQ refuses (a junk or unresolvable address): nothing of the link is left behind.
            Dispose();
            throw;
        }
    }

    public LinkSpec Spec { get; private set; }

    public LinkDialer Dialer { get; } = new(Environment.TickCount64);

    /// <summary>Abandons the connection attempt under way and starts a fresh one (subscriptions are sent again).</summary>
    public void Redial(long nowMs)
    {
        try
        {
            Socket.Disconnect(Spec.Endpoint);
        }
        catch (Exception e) when (e is NetMQException or ArgumentException)
        {
            // Not connected to it at this moment: connecting is all there is to do.
        }

        Socket.Connect(Spec.Endpoint);
        Dialer.OnRedialed(nowMs);
    }

    public SubscriberSocket Socket { get; }

    /// <summary>Reports the link's disconnections and reconnection attempts; runs on the node's poller.</summary>
    public NetMQMonitor Monitor { get; }

    public bool SameTarget(LinkSpec other) =>
        other.Endpoint == Spec.Endpoint && other.ServerKey.AsSpan().SequenceEqual(Spec.ServerKey);

    public void Update(LinkSpec spec)
    {
        ApplyGroups(spec.Groups);
        Spec = spec;
    }

    private void ApplyGroups(IReadOnlySet<string> groups)
    {
        foreach (var gone in _groups.Where(g => !groups.Contains(g)).ToList())
        {
            Socket.Unsubscribe(Topics.ForGroup(gone));
            _groups.Remove(gone);
        }

        foreach (var added in groups.Where(g => !_groups.Contains(g)).ToList())
        {
            Socket.Subscribe(Topics.ForGroup(added));
            _groups.Add(added);
        }
    }

    public void Dispose()
    {
        Monitor.Dispose();
        Socket.Dispose();
    }
}
