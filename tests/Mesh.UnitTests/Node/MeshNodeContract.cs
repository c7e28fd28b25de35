using System.Collections.Concurrent;
using Mesh.Peer.Node;
using Mesh.Testing;
using Mesh.UnitTests.Session.Harness;
using Microsoft.Extensions.Logging.Abstractions;
using NetMQ;

namespace Mesh.UnitTests.Node;

/// <summary>What the session relies on from its node, run against the NetMQ node (Curve on loopback) and against the
/// harness's in-memory twin: frames reach the members that follow the publisher for that group, on their loop, named
/// by the publisher; a link that works is said; a group not followed brings nothing.</summary>
public abstract class MeshNodeContract
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly List<IDisposable> _owned = [];

    /// <summary>What a node reported, and whether each report came on its own loop.</summary>
    protected sealed class Reports
    {
        public ConcurrentQueue<(string From, string Group, string Text)> Frames { get; } = new();

        public ConcurrentQueue<string> LinksUp { get; } = new();

        public int OffLoop;
    }

    /// <summary>A started node with its reports and what others need to link to it (endpoint, public key).</summary>
    protected abstract (IMeshNode Node, Reports Reports, byte[] Key) Make(string peerId);

    protected void Own(IDisposable disposable) => _owned.Add(disposable);

    [TearDown]
    public void TearDown()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            owned.Dispose();
        }

        _owned.Clear();
    }

    protected static NodeCallbacks CallbacksFor(Reports reports, Func<IMeshNode> node) => new(
        (from, group, payload) =>
        {
            if (!node().OnLoop)
            {
                Interlocked.Increment(ref reports.OffLoop);
            }

            reports.Frames.Enqueue((from, group, System.Text.Encoding.UTF8.GetString(payload)));
        },
        peer =>
        {
            if (!node().OnLoop)
            {
                Interlocked.Increment(ref reports.OffLoop);
            }

            reports.LinksUp.Enqueue(peer);
        },
        (_, _) => { });

    private string EndpointOf(IMeshNode node) => _endpoints[node];

    private readonly Dictionary<IMeshNode, string> _endpoints = [];

    private (IMeshNode Node, Reports Reports, byte[] Key) Started(string peerId)
    {
        var made = Make(peerId);
        _endpoints[made.Node] = made.Node.Start("tcp://127.0.0.1:*", null);
        return made;
    }

    [Test]
    public async Task A_frame_reaches_a_member_following_its_group_on_its_loop_named_by_its_publisher()
    {
        var amy = Started("amy-peer");
        var bo = Started("bo-peer");
        bo.Node.SetLinks([new LinkSpec("amy-peer", EndpointOf(amy.Node), amy.Key, new HashSet<string> { "g" })]);
        await Waiting.UntilAsync(() => bo.Reports.LinksUp.Contains("amy-peer"), Timeout, "bo's link to amy said to work");

        // Until the subscription has reached amy, a frame may be lost (PUB/SUB): the first that arrives is waited for.
        var sent = 0;
        await Waiting.UntilAsync(() =>
        {
            amy.Node.Publish("g", System.Text.Encoding.UTF8.GetBytes($"hello {sent++}"));
            return !bo.Reports.Frames.IsEmpty;
        }, Timeout, "a frame at bo");
        amy.Node.Publish("other", "not followed"u8.ToArray());
        amy.Node.Publish("g", "last"u8.ToArray());
        await Waiting.UntilAsync(() => bo.Reports.Frames.Any(f => f.Text == "last"), Timeout, "the last frame at bo");

        Assert.That(bo.Reports.Frames.Select(f => (f.From, f.Group)).Distinct(), Is.EqualTo(new[] { ("amy-peer", "g") }), "named by its publisher, only the group followed");
        Assert.That(bo.Reports.Frames.Any(f => f.Text == "not followed"), Is.False);
        Assert.That(bo.Reports.OffLoop + amy.Reports.OffLoop, Is.Zero, "reports come on the node's loop");
        Assert.That(amy.Reports.Frames, Is.Empty, "a node does not hear itself");
    }

    [Test]
    public async Task Frames_of_one_publisher_arrive_in_the_order_published()
    {
        var amy = Started("amy-peer");
        var bo = Started("bo-peer");
        bo.Node.SetLinks([new LinkSpec("amy-peer", EndpointOf(amy.Node), amy.Key, new HashSet<string> { "g" })]);
        await Waiting.UntilAsync(() => bo.Reports.LinksUp.Contains("amy-peer"), Timeout, "the link works");
        var probe = 0;
        await Waiting.UntilAsync(() =>
        {
            amy.Node.Publish("g", System.Text.Encoding.UTF8.GetBytes($"probe {probe++}"));
            return !bo.Reports.Frames.IsEmpty;
        }, Timeout, "a probe at bo");

        for (var i = 0; i < 200; i++)
        {
            amy.Node.Publish("g", System.Text.Encoding.UTF8.GetBytes($"m{i}"));
        }

        await Waiting.UntilAsync(() => bo.Reports.Frames.Count(f => f.Text.StartsWith('m')) == 200, Timeout, "the 200 at bo");
        Assert.That(bo.Reports.Frames.Where(f => f.Text.StartsWith('m')).Select(f => f.Text), Is.EqualTo(Enumerable.Range(0, 200).Select(i => $"m{i}")));
    }
}

/// <summary>The contract on NetMQ: Curve PUB/SUB on loopback.</summary>
[Category("Unit")]
public sealed class NetMqNodeContract : MeshNodeContract
{
    protected override (IMeshNode Node, Reports Reports, byte[] Key) Make(string peerId)
    {
        var certificate = new NetMQCertificate();
        var reports = new Reports();
        MeshNode? node = null;
        node = new MeshNode(certificate, peerId, CallbacksFor(reports, () => node!).OnFrame, CallbacksFor(reports, () => node!).OnLinkUp,
            (_, _) => { }, NullLogger.Instance, 64 * 1024, 10_000);
        Own(node);
        return (node, reports, certificate.PublicKey);
    }
}

/// <summary>The same contract on the harness's twin of the links.</summary>
[Category("Unit")]
public sealed class InMemoryNodeContract : MeshNodeContract
{
    private readonly InMemoryMesh _mesh = new();

    protected override (IMeshNode Node, Reports Reports, byte[] Key) Make(string peerId)
    {
        var loop = new LoopThread($"node-{peerId}");
        Own(loop);
        var reports = new Reports();
        InMemoryNode? node = null;
        node = _mesh.Node(peerId, loop, CallbacksFor(reports, () => node!));
        Own(node);
        return (node, reports, new byte[32]);
    }
}
