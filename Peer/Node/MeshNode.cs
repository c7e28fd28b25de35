using System.Text;
using Mesh.Peer.Configuration;
using Mesh.Peer.Protocol;
using Microsoft.Extensions.Logging;
using NetMQ;
using NetMQ.Sockets;

namespace Mesh.Peer.Node;

/// <summary>The peer's network node: one XPUB socket it publishes on, and one SUB socket per member it follows.</summary>
/// <remarks>
/// ZeroMQ sockets are not thread-safe, so one <see cref="NetMQPoller"/> thread owns every socket. Other threads hand
/// it work through queues (frames to publish, link changes); what arrives leaves through the callbacks, which must
/// not block. Every link is Curve-encrypted: the PUB socket is a Curve server with the peer's own keypair, and each
/// SUB socket is a Curve client that must know the member's public key.
/// </remarks>
public sealed partial class MeshNode : IMeshNode
{
    private readonly NetMQCertificate _certificate;
    private readonly byte[] _helloPayload;
    private readonly Action<string, string, byte[]> _onFrame;
    private readonly Action<string> _onLinkUp;
    private readonly Action<string, bool> _onLinkTrouble;
    private readonly ILogger _log;
    private readonly NetMQPoller _poller = new();
    private readonly XPublisherSocket _publisher = new();
    /// <summary>Frames published from off the loop, sent by the loop in order. A plain queue, not a NetMQ one: the
    /// poller's own task queue wakes the loop, so the poller has two sockets fewer to poll at every wake-up.</summary>
    private readonly System.Collections.Concurrent.ConcurrentQueue<(byte[] Topic, byte[] Payload)> _outgoing = new();
    private int _drainScheduled;
    private readonly Dictionary<string, SubscriberLink> _links = new(StringComparer.Ordinal);
    private readonly NetMQTimer _redialTimer = new(TimeSpan.FromSeconds(1));
    private readonly int _maxFrameBytes;
    private readonly int _highWaterMark;
    private long _published;
    private long _received;
    private bool _disposed;
    private bool _started;

    /// <param name="certificate">The peer's Curve keypair.</param>
    /// <param name="peerId">The peer's id, sent in hellos.</param>
    /// <param name="onFrame">Called on the poller thread with (member peer id, group, payload) for each message.</param>
    /// <param name="onLinkUp">Called on the poller thread when a member's hello proves the link to it works.</param>
    /// <param name="onLinkTrouble">Called on the poller thread with (member peer id, retrying) when its link drops
    /// (false) or a reconnection is attempted (true).</param>
    /// <param name="maxFrameBytes">Larger frames make the link drop (hostile or broken senders).</param>
    /// <param name="highWaterMark">Frames queued per link before ZeroMQ drops them.</param>
    public MeshNode(NetMQCertificate certificate, string peerId, Action<string, string, byte[]> onFrame,
        Action<string> onLinkUp, Action<string, bool> onLinkTrouble, ILogger log, int maxFrameBytes, int highWaterMark)
    {
        _certificate = certificate;
        _helloPayload = Encoding.UTF8.GetBytes(peerId);
        _onFrame = onFrame;
        _onLinkUp = onLinkUp;
        _onLinkTrouble = onLinkTrouble;
        _log = log;
        _maxFrameBytes = maxFrameBytes;
        _highWaterMark = highWaterMark;
    }

    public long Published => Interlocked.Read(ref _published);

    /// <summary>The node's loop as a scheduler: what runs on it (and its async continuations, through the
    /// synchronization context the poller sets on its thread) owns the sockets and may publish without a queue hop.</summary>
    public TaskScheduler Loop => _poller;

    /// <summary>Whether the loop runs (started, not yet disposed).</summary>
    public bool Running => _started && !_disposed;

    /// <summary>Whether the caller runs on the node's loop.</summary>
    public bool OnLoop => _started && _poller.CanExecuteTaskInline;

    public long Received => Interlocked.Read(ref _received);

    /// <summary>Binds the PUB socket and starts the poller; returns the endpoint other peers should connect to.</summary>
    public string Start(string bind, string? advertise)
    {
        _publisher.Options.CurveServer = true;
        _publisher.Options.CurveCertificate = _certificate;
        // NetMQ's default of 1,000 drops a burst silently; a chat burst of many thousands must go out whole.
        _publisher.Options.SendHighWatermark = _highWaterMark;
        _publisher.Options.XPubVerbose = true;
        _publisher.Options.Linger = TimeSpan.FromSeconds(1);
        _publisher.Options.MaxMsgSize = 1024;
        string bound;
        try
        {
            if (bind.EndsWith(":*", StringComparison.Ordinal))
            {
                var port = _publisher.BindRandomPort(bind[..^2]);
                bound = $"{bind[..^2]}:{port}";
            }
            else
            {
                _publisher.Bind(bind);
                bound = bind;
            }
        }
        catch (NetMQException e)
        {
            throw new NodeBindException($"cannot listen on {bind}: {e.Message.ReplaceLineEndings(" ")}", e);
        }

        _publisher.ReceiveReady += OnSubscription;
        _redialTimer.Elapsed += (_, _) => RedialStuckLinks();
        // Set only while some link is not up: an idle node with every link up wakes for nothing.
        _redialTimer.Enable = false;
        _poller.Add(_publisher);
        _poller.Add(_redialTimer);
        _poller.RunAsync("mesh-node");
        _started = true;
        return advertise ?? bound;
    }

    /// <summary>Queues a message for every member subscribed to <paramref name="group"/>.</summary>
    public void Publish(string group, byte[] payload)
    {
        if (OnLoop && _outgoing.IsEmpty)
        {
            // From the loop itself: straight to the socket, in order after anything queued from elsewhere.
            _publisher.SendMoreFrame(Topics.ForGroup(group)).SendFrame(payload);
            Interlocked.Increment(ref _published);
            return;
        }

        if (_disposed)
        {
            return;
        }

        _outgoing.Enqueue((Topics.ForGroup(group), payload));
        if (Interlocked.Exchange(ref _drainScheduled, 1) == 0)
        {
            // On the loop this drains at once, in order after what was queued from elsewhere.
            OnLoopSoon(DrainOutgoing);
        }
    }

    /// <summary>Runs <paramref name="action"/> on the loop: at once when called there (or before the loop runs), else
    /// queued behind the loop's other work.</summary>
    private void OnLoopSoon(Action action) => _poller.Run(action);

    private void DrainOutgoing()
    {
        Volatile.Write(ref _drainScheduled, 0);
        // Bounded so that a long burst does not starve subscriptions and incoming frames on this thread: the rest is
        // taken in a later turn of the loop.
        SendQueued(4096);
        if (!_outgoing.IsEmpty && Interlocked.Exchange(ref _drainScheduled, 1) == 0)
        {
            new Task(DrainOutgoing).Start(_poller);
        }
    }

    /// <summary>Makes the node follow exactly these members (connecting, re-subscribing, disconnecting as needed).</summary>
    public void SetLinks(IReadOnlyCollection<LinkSpec> links) => OnLoopSoon(() => ApplyLinks(links));

    private void ApplyLinks(IReadOnlyCollection<LinkSpec> wanted)
    {
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var spec in wanted)
        {
            keep.Add(spec.PeerId);
            if (_links.TryGetValue(spec.PeerId, out var link))
            {
                if (link.SameTarget(spec))
                {
                    link.Update(spec);
                    continue;
                }

                // The member came back elsewhere (or with a new key): start a fresh connection.
                Drop(link);
            }

            SubscriberLink created;
            try
            {
                created = new SubscriberLink(spec, _certificate, _maxFrameBytes, _highWaterMark);
            }
            catch (Exception e) when (e is NetMQException or ArgumentException or FormatException or System.Net.Sockets.SocketException or InvalidOperationException)
            {
                // A member's record names an endpoint ZeroMQ cannot connect to: that link is skipped, the poller goes on.
                LogLinkRefused(spec.PeerId, Naming.Printable(spec.Endpoint), e.Message.ReplaceLineEndings(" "));
                continue;
            }

            created.Socket.ReceiveReady += (_, e) => OnMemberFrames(created, e.Socket);
            created.Monitor.Disconnected += (_, _) =>
            {
                created.Dialer.OnDropped(Environment.TickCount64);
                _redialTimer.Enable = true;
                _onLinkTrouble(created.Spec.PeerId, false);
            };
            created.Monitor.ConnectRetried += (_, _) =>
            {
                created.Dialer.OnRetried(Environment.TickCount64);
                _onLinkTrouble(created.Spec.PeerId, true);
            };
            // On the poller, not StartAsync: a monitor task would hold a thread-pool thread for its whole life.
            created.Monitor.AttachToPoller(_poller);
            _poller.Add(created.Socket);
            _links[spec.PeerId] = created;
            _redialTimer.Enable = true;
            LogLinkOpened(spec.PeerId, spec.Endpoint);
        }

        foreach (var gone in _links.Values.Where(l => !keep.Contains(l.Spec.PeerId)).ToList())
        {
            Drop(gone);
        }
    }

    /// <summary>Starts afresh every link whose connection attempt has gone on too long (see <see cref="LinkDialer"/>).</summary>
    private void RedialStuckLinks()
    {
        var now = Environment.TickCount64;
        foreach (var link in _links.Values)
        {
            if (link.Dialer.RedialDue(now))
            {
                try
                {
                    link.Redial(now);
                    LogRedialed(link.Spec.PeerId, Naming.Printable(link.Spec.Endpoint));
                }
                catch (Exception e) when (e is NetMQException or ArgumentException)
                {
                    LogLinkRefused(link.Spec.PeerId, Naming.Printable(link.Spec.Endpoint), e.Message.ReplaceLineEndings(" "));
                }
            }
        }

        _redialTimer.Enable = _links.Values.Any(l => !l.Dialer.Up);
    }

    private void Drop(SubscriberLink link)
    {
        link.Monitor.DetachFromPoller();
        _poller.Remove(link.Socket);
        _links.Remove(link.Spec.PeerId);
        link.Dispose();
        LogLinkClosed(link.Spec.PeerId);
    }

    private void SendQueued(int max)
    {
        // Bounded so that a long burst does not starve subscriptions and incoming frames on this thread.
        for (var i = 0; i < max && _outgoing.TryDequeue(out var item); i++)
        {
            _publisher.SendMoreFrame(item.Topic).SendFrame(item.Payload);
            Interlocked.Increment(ref _published);
        }
    }

    private void OnSubscription(object? sender, NetMQSocketEventArgs e)
    {
        while (e.Socket.TryReceiveFrameBytes(out var frame))
        {
            // A subscription message is [1][topic]. Answering the hello topic tells the new subscriber that its link
            // (and every subscription it sent before this one) is in place. Other subscribers ignore repeats.
            if (frame.Length == Topics.Hello.Length + 1 && frame[0] == 1 && frame.AsSpan(1).SequenceEqual(Topics.Hello))
            {
                _publisher.SendMoreFrame(Topics.Hello).SendFrame(_helloPayload);
            }
        }
    }

    private void OnMemberFrames(SubscriberLink link, NetMQSocket socket)
    {
        var frames = new List<byte[]>(2);
        for (var i = 0; i < 4096 && socket.TryReceiveMultipartBytes(TimeSpan.Zero, ref frames, 2); i++)
        {
            if (frames is not { Count: 2 })
            {
                continue;
            }

            var topic = frames[0];
            if (topic.AsSpan().SequenceEqual(Topics.Hello))
            {
                link.Dialer.OnUp();
                _onLinkUp(link.Spec.PeerId);
                continue;
            }

            if (Topics.GroupOf(topic) is { } group)
            {
                Interlocked.Increment(ref _received);
                _onFrame(link.Spec.PeerId, group, frames[1]);
            }
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_started && OnLoop)
        {
            throw new InvalidOperationException("the node cannot be disposed from its own loop");
        }

        if (_started)
        {
            // Let frames already queued leave before the poller stops (the PUB socket lingers 1 s for the rest).
            var drained = new ManualResetEventSlim();
            OnLoopSoon(() =>
            {
                SendQueued(int.MaxValue);
                drained.Set();
            });
            drained.Wait(TimeSpan.FromSeconds(2));
            _poller.Stop();
        }

        foreach (var link in _links.Values)
        {
            if (_started)
            {
                link.Monitor.DetachFromPoller();
            }

            link.Dispose();
        }

        _publisher.Dispose();
        _poller.Dispose();
    }

    [LoggerMessage(EventId = 401, Level = LogLevel.Debug, Message = "link to {PeerId} at {Endpoint} opened")]
    private partial void LogLinkOpened(string peerId, string endpoint);

    [LoggerMessage(EventId = 404, Level = LogLevel.Debug, Message = "link to {PeerId} at {Endpoint} dialled again: the attempt under way did not come up")]
    private partial void LogRedialed(string peerId, string endpoint);

    [LoggerMessage(EventId = 402, Level = LogLevel.Debug, Message = "link to {PeerId} closed")]
    private partial void LogLinkClosed(string peerId);

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "no link to {PeerId}: its endpoint '{Endpoint}' cannot be connected to ({Reason})")]
    private partial void LogLinkRefused(string peerId, string endpoint, string reason);
}
