using System.Diagnostics;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Network;

/// <summary>Faults on the 40 ms network, each while every peer keeps sending: a host unplugged (its packets lost, as
/// TCP sees a stall), its link taken down and up, a host cut off from the other peers but not from etcd, from etcd but
/// not from the peers, and the etcd leader split from the other two members. Nothing may be lost or shown twice.</summary>
public sealed class NetworkFaultTests : NetworkFixture
{
    private const int Peers = 4;
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Partition = TimeSpan.FromSeconds(10);

    [Test]
    public Task A_host_unplugged_for_5_s_loses_and_duplicates_nothing() =>
        RunAsync("a peer's host unplugged for 5 s (packets lost both ways)", Stall, Notice.LinkDown,
            victim => HostOf(victim).Unplug(), victim => HostOf(victim).Plug());

    [Test]
    public Task A_host_unplugged_for_20_s_comes_back_without_loss() =>
        RunAsync("a peer's host unplugged for 20 s (longer than its lease)", TimeSpan.FromSeconds(20), Notice.LinkDown,
            victim => HostOf(victim).Unplug(), victim => HostOf(victim).Plug());

    [Test]
    public Task A_host_whose_link_goes_down_and_up_loses_and_duplicates_nothing() =>
        RunAsync("a peer's link down for 5 s, then up", Stall, Notice.LinkDown,
            victim => HostOf(victim).LinkDown(), victim => HostOf(victim).LinkUp());

    [Test]
    public Task A_host_cut_off_from_the_peers_but_not_etcd_loses_and_duplicates_nothing() =>
        RunAsync("a peer cut off from the other peers, not from etcd, for 10 s", Partition, Notice.LinkDown,
            victim => PartitionFromPeers(HostOf(victim)), victim => HealFromPeers(HostOf(victim)));

    [Test]
    public Task A_host_cut_off_from_etcd_but_not_the_peers_loses_and_duplicates_nothing() =>
        RunAsync("a peer cut off from etcd, not from the peers, for 10 s", Partition, Notice.EtcdDownAtVictim,
            victim => PartitionFromEtcd(HostOf(victim)), victim => HealFromEtcd(HostOf(victim)));

    [Test]
    public async Task The_etcd_leader_split_from_the_other_members_loses_and_duplicates_nothing()
    {
        EtcdProcess? split = null;
        await RunAsync("the etcd leader split from the other two members for 10 s", Partition, Notice.None,
            _ =>
            {
                split = EtcdLeader();
                SplitEtcd(split);
            },
            _ => HealEtcd(split!), presenceKept: true);
    }

    private enum Notice
    {
        /// <summary>Another peer reports its link to the victim down.</summary>
        LinkDown,

        /// <summary>The victim reports etcd unreachable.</summary>
        EtcdDownAtVictim,

        /// <summary>Nothing to notice: the fault should be absorbed.</summary>
        None,
    }

    /// <param name="presenceKept">Whether every peer must stay online throughout (etcd's majority kept serving).</param>
    private async Task RunAsync(string scenario, TimeSpan hold, Notice notice, Action<PeerProcess> inject, Action<PeerProcess> heal,
        bool presenceKept = false)
    {
        var group = $"fault-{Guid.NewGuid():N}"[..20];
        var peers = await StartPeersAsync(group, Peers);
        var victim = peers[^1];
        var others = peers[..^1];
        var sentBy = peers.ToDictionary(p => p.Name, _ => new List<string>());

        async Task SendRoundAsync(string phase, int round)
        {
            foreach (var peer in peers)
            {
                var text = $"{peer.Name} {phase} {round}";
                sentBy[peer.Name].Add(text);
                await peer.SendAsync(text);
            }
        }

        for (var i = 0; i < 5; i++)
        {
            await SendRoundAsync("before", i);
        }

        var marks = peers.ToDictionary(p => p.Name, p => p.Events.Count);
        var fault = Stopwatch.StartNew();
        inject(victim);
        Note($"fault on {victim.Name}: {scenario}");
        using var watching = new CancellationTokenSource();
        var noticed = WatchForNoticeAsync(notice, victim, others, marks, fault, watching.Token);
        var round = 0;
        while (fault.Elapsed < hold)
        {
            // Everyone keeps talking through the fault: the victim too, whatever it can reach.
            await SendRoundAsync("during", round++);
            await Task.Delay(250);
        }

        heal(victim);
        Note("healed");
        var healed = Stopwatch.StartNew();
        foreach (var peer in peers)
        {
            await WaitLinksUpAsync(peer, group, peers.Where(p => p != peer).Select(p => p.Name).ToList());
        }

        var recovery = healed.Elapsed.TotalSeconds;
        await watching.CancelAsync();
        var noticeSeconds = await noticed;
        for (var i = 0; i < 5; i++)
        {
            await SendRoundAsync("after", i);
        }

        // Everything sent, before, during and after, is shown everywhere: how long that takes is the repair's figure.
        var total = sentBy.Values.Sum(l => l.Count);
        foreach (var peer in peers)
        {
            await peer.WaitForAsync(p => p.Messages(group).Select(m => m.Str("text")).Distinct().Count() >= total, Long, $"all {total} messages shown");
        }

        var allShown = healed.Elapsed.TotalSeconds;
        await MarkAsync(peers[0], group, peers);
        var report = Count(scenario, group, peers, sentBy, null, noticeSeconds, recovery) with { AllShownSeconds = allShown };
        report.Publish();
        Assert.That(report.Missing, Is.Zero, "missing");
        Assert.That(report.Duplicated, Is.Zero, "duplicated");
        Assert.That(report.OutOfOrder, Is.Zero, "out of a sender's order");
        Assert.That(report.Shown, Is.EqualTo(report.Sent));
        if (presenceKept)
        {
            var left = peers.SelectMany(p => p.Events.Skip(marks[p.Name]).Where(e => e.Str("type") == "left").Select(e => $"{p.Name} saw {e.Str("name")} leave")).ToList();
            Assert.That(left, Is.Empty, "a lease expired while a majority of etcd served");
        }

        if (notice != Notice.None)
        {
            Assert.That(noticeSeconds, Is.Not.Null, $"the fault was noticed ({notice})");
        }
    }

    /// <summary>Seconds from the fault until it shows, or null if it never did before the watch ended.</summary>
    private static async Task<double?> WatchForNoticeAsync(Notice notice, PeerProcess victim, PeerProcess[] others,
        Dictionary<string, int> marks, Stopwatch fault, CancellationToken ct)
    {
        bool Seen() => notice switch
        {
            Notice.LinkDown => others.Any(p => p.Events.Skip(marks[p.Name]).Any(e => e.Str("type") == "disconnected" && e.Str("target") == victim.Name)),
            Notice.EtcdDownAtVictim => victim.Events.Skip(marks[victim.Name]).Any(e => e.Str("type") is "disconnected" or "reconnecting" && e.Str("kind") == "etcd"),
            _ => false,
        };

        try
        {
            while (!Seen())
            {
                await Task.Delay(20, ct);
            }

            return fault.Elapsed.TotalSeconds;
        }
        catch (OperationCanceledException)
        {
            return Seen() ? fault.Elapsed.TotalSeconds : null;
        }
    }
}
