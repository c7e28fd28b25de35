using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Network;

/// <summary>Mesh across hosts: 3 etcd members and 6 peers, each in a network namespace of its own with its own address,
/// joined through a bridge. Every link crosses a relay that adds <see cref="OneWayDelay"/> ± <see cref="Jitter"/> each
/// way (a 40 ms round trip): the peers' PUB listeners, etcd's client listeners and etcd's peer listeners. Faults are
/// added on top: a host unplugged (loss), its link down, a partition from the peers or from etcd, an etcd split.</summary>
[Category("Network")]
[NonParallelizable]
public abstract class NetworkFixture
{
    public static readonly TimeSpan OneWayDelay = TimeSpan.FromMilliseconds(20);
    public static readonly TimeSpan Jitter = TimeSpan.FromMilliseconds(5);

    protected static TimeSpan Long => TimeSpan.FromSeconds(120);

    /// <summary>Where a peer binds inside its host, and where its relay listens (what it advertises).</summary>
    protected const int PubPort = 7000;
    protected const int PubRelayPort = 7001;
    private const int EtcdClientRelayPort = 12379;
    private const int EtcdPeerRelayPort = 12380;

    private readonly List<PeerProcess> _peers = [];
    private readonly ConcurrentQueue<string> _timeline = new();
    private long _started = Stopwatch.GetTimestamp();

    /// <summary>Notes a step of the test in its timeline (written with the test output when it fails).</summary>
    protected void Note(string what) => _timeline.Enqueue($"{Stopwatch.GetElapsedTime(_started).TotalSeconds,7:F2} s test: {what}");
    private readonly List<LinkRelay> _relays = [];
    private readonly Dictionary<string, LinkRelay> _pubRelays = [];
    private readonly Dictionary<string, LinkRelay> _etcdClientRelays = [];
    private readonly Dictionary<string, LinkRelay> _etcdPeerRelays = [];

    protected TestNetwork Net { get; private set; } = null!;

    protected IReadOnlyList<EtcdProcess> EtcdMembers { get; private set; } = [];

    protected IReadOnlyList<NetHost> PeerHosts { get; private set; } = [];

    /// <summary>Every etcd client endpoint (its relay), comma-separated, as peers are given them.</summary>
    protected string EtcdEndpoints => string.Join(",", EtcdMembers.Select(m => m.Url));

    [OneTimeSetUp]
    public async Task BuildNetwork()
    {
        if (TestNetwork.Unavailable() is { } why)
        {
            Assert.Ignore(why);
        }

        Net = TestNetwork.Create("e1", "e2", "e3", "p1", "p2", "p3", "p4", "p5", "p6");
        var etcdHosts = Net.Hosts.Where(h => h.Name.StartsWith('e')).ToList();
        PeerHosts = Net.Hosts.Where(h => h.Name.StartsWith('p')).ToList();
        foreach (var host in etcdHosts)
        {
            _etcdClientRelays[host.Name] = Relay(host, EtcdClientRelayPort, EtcdProcess.HostClientPort);
            _etcdPeerRelays[host.Name] = Relay(host, EtcdPeerRelayPort, EtcdProcess.HostPeerPort);
        }

        foreach (var host in PeerHosts)
        {
            _pubRelays[host.Name] = Relay(host, PubRelayPort, PubPort);
        }

        EtcdMembers = EtcdProcess.ClusterOn(etcdHosts, EtcdClientRelayPort, EtcdPeerRelayPort);
        await Task.WhenAll(EtcdMembers.Select(m => m.StartAsync()));
    }

    private LinkRelay Relay(NetHost host, int port, int upstream)
    {
        var relay = new LinkRelay(host, port, upstream) { Delay = OneWayDelay, Jitter = Jitter };
        _relays.Add(relay);
        return relay;
    }

    [OneTimeTearDown]
    public void TearDownNetwork()
    {
        foreach (var relay in _relays)
        {
            relay.Dispose();
        }

        foreach (var member in EtcdMembers)
        {
            member.Dispose();
        }

        Net?.Dispose();
    }

    [SetUp]
    public void StartClock() => _started = Stopwatch.GetTimestamp();

    [TearDown]
    public async Task StopPeers()
    {
        var failed = TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed;
        if (failed || Environment.GetEnvironmentVariable("MESH_TEST_TIMELINE") == "1")
        {
            TestContext.Out.WriteLine(string.Join("\n", _timeline));
        }

        _timeline.Clear();
        foreach (var peer in _peers)
        {
            if (failed)
            {
                // Everything the peer said, kept with the test results for whoever reads the failure.
                var events = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"network-{TestContext.CurrentContext.Test.Name}-{peer.Name}.jsonl");
                File.WriteAllLines(events, peer.Events.Select(e => e.GetRawText()));
                TestContext.Out.WriteLine($"{peer.Name} stderr: {peer.Tail()}; events in {events}, stderr in {peer.StderrPath}");
            }

            await peer.DisposeAsync();
        }

        _peers.Clear();
        // Whatever a test did to the network is undone, so that the next one starts from a healthy one.
        foreach (var relay in _relays)
        {
            foreach (var host in Net.Hosts)
            {
                relay.Unblock(host.Address);
            }

            relay.BytesPerSecond = 0;
        }

        foreach (var host in Net.Hosts)
        {
            host.Plug();
            host.LinkUp();
        }
    }

    /// <summary>Starts a peer on each of the given hosts (bound to its address, or to every interface with its address
    /// advertised, alternately), and returns once each is ready and sees every other online.</summary>
    protected async Task<PeerProcess[]> StartPeersAsync(string group, int count, params string[] extra)
    {
        var peers = PeerHosts.Take(count).Select((host, i) =>
        {
            var bind = i % 2 == 0 ? $"tcp://{host.Address}:{PubPort}" : $"tcp://0.0.0.0:{PubPort}";
            var peer = PeerProcess.Start(host, EtcdEndpoints, host.Name, [group], null, new Dictionary<string, string>(),
                ["--bind", bind, "--advertise", $"tcp://{host.Address}:{PubRelayPort}", .. extra]);
            _peers.Add(peer);
            peer.EventReceived += (e, at) =>
            {
                if (e.Str("type") is "disconnected" or "reconnected" or "joined" or "left" or "error")
                {
                    _timeline.Enqueue($"{Stopwatch.GetElapsedTime(_started, at).TotalSeconds,7:F2} s {peer.Name}: {e.GetRawText()}");
                }
            };
            return peer;
        }).ToArray();
        foreach (var peer in peers)
        {
            await peer.WaitReadyAsync(group, Long);
        }

        var names = peers.Select(p => p.Name).ToList();
        foreach (var peer in peers)
        {
            await peer.WaitForAsync(p => names.All(EtcdFixture.OnlineNames(p, group).Contains), Long, $"all of {string.Join(", ", names)} online");
        }

        foreach (var peer in peers)
        {
            await WaitLinksUpAsync(peer, group, names.Where(n => n != peer.Name).ToList());
        }

        return peers;
    }

    /// <summary>Asks <paramref name="peer"/> for its members (<c>/members</c>) until it reports a link up to each of
    /// <paramref name="others"/>.</summary>
    protected static async Task WaitLinksUpAsync(PeerProcess peer, string group, IReadOnlyCollection<string> others)
    {
        var earlier = peer.Of("members", group).Count;
        var asked = 0;
        var lastAsk = Stopwatch.StartNew();
        await Waiting.UntilAsync(async () =>
        {
            // Only answers to the questions asked here count: an earlier one may describe links since lost.
            var answers = peer.Of("members", group).Skip(earlier).ToList();
            if (answers.Count > 0)
            {
                var up = answers[^1].GetProperty("members").EnumerateArray().Where(m => m.Str("link") == "up").Select(m => m.Str("name")).ToHashSet();
                if (others.All(up.Contains))
                {
                    return true;
                }
            }

            // One question at a time, at most two a second.
            if (asked == 0 || (answers.Count >= asked && lastAsk.Elapsed > TimeSpan.FromMilliseconds(500)))
            {
                asked++;
                lastAsk.Restart();
                await peer.SendAsync("/members");
            }

            return false;
        }, Long, $"{peer.Name}: links up to {string.Join(", ", others)}");
    }

    protected NetHost HostOf(PeerProcess peer) => Net[peer.Name];

    /// <summary>Cuts <paramref name="host"/> off from the other peers, both ways, but not from etcd.</summary>
    protected void PartitionFromPeers(NetHost host)
    {
        foreach (var other in PeerHosts.Where(h => h != host))
        {
            _pubRelays[other.Name].Block(host.Address);
            _pubRelays[host.Name].Block(other.Address);
        }
    }

    protected void HealFromPeers(NetHost host)
    {
        foreach (var other in PeerHosts.Where(h => h != host))
        {
            _pubRelays[other.Name].Unblock(host.Address);
            _pubRelays[host.Name].Unblock(other.Address);
        }
    }

    /// <summary>Cuts <paramref name="host"/> off from every etcd member, but not from the peers.</summary>
    protected void PartitionFromEtcd(NetHost host)
    {
        foreach (var relay in _etcdClientRelays.Values)
        {
            relay.Block(host.Address);
        }
    }

    protected void HealFromEtcd(NetHost host)
    {
        foreach (var relay in _etcdClientRelays.Values)
        {
            relay.Unblock(host.Address);
        }
    }

    /// <summary>Splits one etcd member from the other two (clients still reach all three).</summary>
    protected void SplitEtcd(EtcdProcess member)
    {
        var host = Net[member.Name];
        foreach (var other in EtcdMembers.Where(m => m != member).Select(m => Net[m.Name]))
        {
            _etcdPeerRelays[other.Name].Block(host.Address);
            _etcdPeerRelays[host.Name].Block(other.Address);
        }
    }

    protected void HealEtcd(EtcdProcess member)
    {
        var host = Net[member.Name];
        foreach (var other in EtcdMembers.Where(m => m != member).Select(m => Net[m.Name]))
        {
            _etcdPeerRelays[other.Name].Unblock(host.Address);
            _etcdPeerRelays[host.Name].Unblock(other.Address);
        }
    }

    /// <summary>Caps every peer link's bandwidth (each way).</summary>
    protected void CapPeerLinks(long bytesPerSecond)
    {
        foreach (var relay in _pubRelays.Values)
        {
            relay.BytesPerSecond = bytesPerSecond;
        }
    }

    /// <summary>The member that leads now.</summary>
    protected EtcdProcess EtcdLeader()
    {
        foreach (var member in EtcdMembers)
        {
            var (code, output) = member.Etcdctl("endpoint", "status", "-w", "json");
            if (code != 0)
            {
                continue;
            }

            using var doc = System.Text.Json.JsonDocument.Parse(output);
            var status = doc.RootElement[0].GetProperty("Status");
            if (status.GetProperty("leader").GetUInt64() == status.GetProperty("header").GetProperty("member_id").GetUInt64())
            {
                return member;
            }
        }

        throw new InvalidOperationException("no etcd member reports itself leader");
    }

    /// <summary>Watches every peer for messages and the time each arrived, against the time each was written to its
    /// sender: delivery latency end to end (stdin to stdout), what a user sees.</summary>
    protected sealed class DeliveryClock : IDisposable
    {
        private readonly ConcurrentDictionary<string, long> _sentAt = new();
        private readonly ConcurrentBag<double> _latencies = [];
        private readonly List<(PeerProcess Peer, Action<System.Text.Json.JsonElement, long> Handler)> _handlers = [];

        public DeliveryClock(string group, IEnumerable<PeerProcess> peers)
        {
            foreach (var peer in peers)
            {
                Action<System.Text.Json.JsonElement, long> handler = (e, at) =>
                {
                    if (e.Str("type") == "message" && e.Str("group") == group && e.Str("from") != peer.Name
                        && e.Str("text") is { } text && _sentAt.TryGetValue(text, out var sent))
                    {
                        _latencies.Add(Stopwatch.GetElapsedTime(sent, at).TotalMilliseconds);
                    }
                };
                peer.EventReceived += handler;
                _handlers.Add((peer, handler));
            }
        }

        public async Task SendAsync(PeerProcess sender, string text)
        {
            _sentAt[text] = Stopwatch.GetTimestamp();
            await sender.SendAsync(text);
        }

        public IReadOnlyList<double> Latencies => [.. _latencies.Order()];

        public double Percentile(double p)
        {
            var sorted = Latencies;
            return sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100 * sorted.Count) - 1)];
        }

        public void Dispose()
        {
            foreach (var (peer, handler) in _handlers)
            {
                peer.EventReceived -= handler;
            }
        }
    }

    /// <summary>Sends a final marker from <paramref name="sender"/> and waits until every peer shows it.</summary>
    protected static async Task MarkAsync(PeerProcess sender, string group, IEnumerable<PeerProcess> readers)
    {
        var marker = $"marker {Guid.NewGuid():N}";
        await sender.SendAsync(marker);
        foreach (var reader in readers)
        {
            await reader.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == marker), Long, $"{reader.Name}: the final marker");
        }
    }

    /// <summary>Counts, at every peer, what every other sent: missing, duplicated, and out of each sender's order.</summary>
    protected static NetworkReport Count(string scenario, string group, IReadOnlyList<PeerProcess> peers,
        IReadOnlyDictionary<string, List<string>> sentBy, DeliveryClock? clock, double? noticeSeconds, double? recoverySeconds)
    {
        int sent = 0, shown = 0, missing = 0, duplicated = 0, outOfOrder = 0;
        var detail = new List<string>();
        foreach (var reader in peers)
        {
            var texts = reader.Messages(group).Select(m => (From: m.Str("from")!, Text: m.Str("text")!))
                .Where(m => !m.Text.StartsWith("marker ", StringComparison.Ordinal)).ToList();
            foreach (var (from, expected) in sentBy)
            {
                var got = texts.Where(m => m.From == from).Select(m => m.Text).ToList();
                sent += expected.Count;
                shown += got.Count;
                var lacking = expected.Except(got).ToList();
                missing += lacking.Count;
                if (lacking.Count > 0)
                {
                    detail.Add($"{reader.Name} lacks {lacking.Count} of {from}'s: {string.Join(", ", lacking.Take(4))}");
                }

                duplicated += got.Count - got.Distinct().Count();
                var positions = got.Distinct().Select(t => expected.IndexOf(t)).Where(i => i >= 0).ToList();
                outOfOrder += positions.Zip(positions.Skip(1)).Count(pair => pair.Second < pair.First);
            }
        }

        foreach (var line in detail)
        {
            TestContext.Out.WriteLine(line);
        }

        return new NetworkReport(scenario, OneWayDelay.TotalMilliseconds, sent, shown, missing, duplicated, outOfOrder,
            clock?.Percentile(50), clock?.Percentile(99), noticeSeconds, recoverySeconds);
    }
}
