using System.Diagnostics;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Faults;

/// <summary>A 3-node etcd cluster loses its leader, or a follower, in the middle of a burst: nothing is lost.</summary>
[Category("Integration")]
public sealed class ClusterFaultTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(120);
    private EtcdCluster _cluster = null!;

    [OneTimeSetUp]
    public async Task Start() => _cluster = await EtcdCluster.StartAsync();

    [OneTimeTearDown]
    public void Stop() => _cluster?.Dispose();

    [Test]
    public Task Killing_the_leader_during_a_1000_message_burst_loses_and_duplicates_nothing() =>
        BurstThroughAsync("etcd leader killed during a 1,000-message burst", () => _cluster.Leader());

    [Test]
    public Task Killing_a_follower_during_a_1000_message_burst_loses_and_duplicates_nothing() =>
        BurstThroughAsync("etcd follower killed during a 1,000-message burst", () => _cluster.AnyFollower());

    private async Task BurstThroughAsync(string scenario, Func<EtcdProcess> pickVictim)
    {
        var group = $"burst-{Guid.NewGuid():N}"[..24];
        await using var sender = PeerProcess.Start(_cluster.Endpoints, "sender", [group]);
        await using var receiver = PeerProcess.Start(_cluster.Endpoints, "receiver", [group]);
        await sender.WaitReadyAsync(group, Long);
        await receiver.WaitReadyAsync(group, Long);
        await sender.WaitForAsync(p => p.Of("joined", group).Count + p.Of("ready", group)[0].GetProperty("members").GetArrayLength() >= 2, Long, "receiver online");

        var sent = Enumerable.Range(0, 1000).Select(i => $"burst {i:D4}").ToList();
        await sender.SendManyAsync(sent.Take(300));
        var victim = pickVictim();
        var clock = Stopwatch.StartNew();
        victim.Kill();
        try
        {
            await sender.SendManyAsync(sent.Skip(300));
            await receiver.WaitForAsync(p => p.Messages(group).Count >= 1000, Long, "1000 messages");
            await Waiting.UntilAsync(() => _cluster.CountMessages($"/mesh/history/{group}/") >= 1000, Long, "1000 in history");
            var recovery = clock.Elapsed;
            // Counted only after a final marker: a late copy of anything before it has had its chance to show.
            await sender.SendAsync("final marker");
            await receiver.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "final marker"), Long, "the final marker");
            await Waiting.UntilAsync(() => _cluster.CountMessages($"/mesh/history/{group}/") >= 1001, Long, "the marker in history");

            var received = receiver.Messages(group).Select(m => m.Str("text")!).Where(t => t != "final marker").ToList();
            var report = FaultReport.Of(scenario, sent, received, recovery);
            report.Publish();
            Assert.That(report.Missing, Is.Zero);
            Assert.That(report.Duplicated, Is.Zero);
            Assert.That(received, Is.EqualTo(sent), "in the order sent");

            var survivors = string.Join(",", _cluster.Members.Where(m => m.Running).Select(m => m.Url));
            var (code, stdout, stderr) = await MeshCli.RunAsync("history", group, "--json", "--etcd", survivors, "--home", sender.Home);
            Assert.That(code, Is.EqualTo(0), stderr);
            var history = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.That(history, Has.Length.EqualTo(1001), "history: all 1,000 and the marker, none twice");
            Assert.That(_cluster.CountMessages($"/mesh/history/{group}/"), Is.EqualTo(1001));
        }
        finally
        {
            await victim.StartAsync();
        }
    }
}
