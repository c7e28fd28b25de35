using Mesh.Peer.Node;
using Mesh.Testing;

namespace Mesh.UnitTests.Session.Harness;

/// <summary>The twin of the peers' links: frames a node publishes reach, on their own loops, the nodes that follow it
/// for that group; a link is up as soon as both ends exist. A node cut off (a crash) sends and receives nothing.</summary>
internal sealed class InMemoryMesh
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, InMemoryNode> _byEndpoint = new(StringComparer.Ordinal);
    private int _nextPort = 20_000;

    /// <summary>Frames this says no to (from, to, group, frame) are lost on the way, as a link that dropped would lose them.</summary>
    public Func<string, string, string, byte[], bool>? Drop { get; set; }

    public InMemoryNode Node(string peerId, LoopThread loop, NodeCallbacks callbacks) => new(this, peerId, loop, callbacks);

    public string Register(InMemoryNode node)
    {
        lock (_lock)
        {
            var endpoint = $"tcp://127.0.0.1:{++_nextPort}";
            _byEndpoint[endpoint] = node;
            return endpoint;
        }
    }

    public void Remove(InMemoryNode node)
    {
        lock (_lock)
        {
            foreach (var endpoint in _byEndpoint.Where(e => e.Value == node).Select(e => e.Key).ToList())
            {
                _byEndpoint.Remove(endpoint);
            }
        }
    }

    public bool Exists(string endpoint)
    {
        lock (_lock)
        {
            return _byEndpoint.ContainsKey(endpoint);
        }
    }

    /// <summary>Hands <paramref name="to"/> a frame as if <paramref name="fromPeerId"/>'s link carried it: what a
    /// hostile member (or a bug) can put on its own link.</summary>
    public static void Inject(InMemoryNode to, string fromPeerId, string group, byte[] frame) => to.Receive(fromPeerId, group, frame);

    /// <summary>Hands a frame from <paramref name="from"/> to every node that follows it for <paramref name="group"/>.</summary>
    public void Deliver(InMemoryNode from, string group, byte[] frame)
    {
        List<InMemoryNode> to;
        lock (_lock)
        {
            if (from.Endpoint is not { } endpoint || !_byEndpoint.ContainsKey(endpoint))
            {
                return;
            }

            to = _byEndpoint.Values.Where(n => n != from && n.Follows(endpoint, group)).ToList();
        }

        foreach (var node in to.Where(n => Drop?.Invoke(from.PeerId, n.PeerId, group, frame) != true))
        {
            node.Receive(from.PeerId, group, frame);
        }
    }
}

/// <summary>A node of the <see cref="InMemoryMesh"/>: its loop is a <see cref="LoopThread"/>.</summary>
internal sealed class InMemoryNode(InMemoryMesh mesh, string peerId, LoopThread loop, NodeCallbacks callbacks) : IMeshNode
{
    private readonly Lock _lock = new();
    private IReadOnlyCollection<LinkSpec> _links = [];
    private bool _running;

    public string PeerId => peerId;

    public string? Endpoint { get; private set; }

    public TaskScheduler Loop => loop;

    public bool Running => _running;

    public bool OnLoop => loop.OnLoop;

    public long Published;

    public string Start(string bind, string? advertise)
    {
        Endpoint = mesh.Register(this);
        _running = true;
        return Endpoint;
    }

    public void Publish(string group, byte[] frame)
    {
        Interlocked.Increment(ref Published);
        mesh.Deliver(this, group, frame);
    }

    public void SetLinks(IReadOnlyCollection<LinkSpec> links)
    {
        IReadOnlyCollection<LinkSpec> before;
        lock (_lock)
        {
            (before, _links) = (_links, links.ToList());
        }

        // A new link works at once when the member's node exists: its hello comes back on this node's loop.
        foreach (var link in links.Where(l => before.All(b => b.PeerId != l.PeerId) && mesh.Exists(l.Endpoint)))
        {
            _ = loop.Run(() =>
            {
                callbacks.OnLinkUp(link.PeerId);
                return true;
            });
        }
    }

    public bool Follows(string endpoint, string group)
    {
        lock (_lock)
        {
            return _links.Any(l => l.Endpoint == endpoint && l.Groups.Contains(group));
        }
    }

    public void Receive(string from, string group, byte[] frame) =>
        _ = loop.Run(() =>
        {
            if (_running)
            {
                callbacks.OnFrame(from, group, frame);
            }

            return true;
        });

    public void Dispose()
    {
        _running = false;
        mesh.Remove(this);
    }
}
