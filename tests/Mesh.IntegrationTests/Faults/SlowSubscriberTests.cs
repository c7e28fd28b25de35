using System.Diagnostics;
using System.Text.RegularExpressions;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Faults;

/// <summary>A subscriber too slow for the high-water mark loses live frames, and gets every one back from history.</summary>
public sealed partial class SlowSubscriberTests : EtcdFixture
{
    /// <summary>Messages the history watch brought that no link had (logged at Debug).</summary>
    [GeneratedRegex(@"took (\d+) messages of '[^']+' from history")]
    private static partial Regex TookFromHistory();

    [Test]
    public async Task A_subscriber_slowed_past_the_high_water_mark_still_shows_every_message_once_in_order()
    {
        var group = NewGroup("slow");
        // A small high-water mark, so that a frozen subscriber makes the links drop frames: the 3,000 messages below
        // travel in about 100 frames (64 to a burst, about 200 KB to a frame), five times the mark.
        var small = new Dictionary<string, string> { ["MESH_HWM"] = "20", ["MESH_LOG"] = "Information" };
        await using var sender = PeerProcess.Start(Etcd.Url, "sender", [group], null, small);
        // The slow peer reaches etcd through a proxy: cut, its history watch cannot hand over the burst before the
        // live path does, so what the live path dropped must be repaired from history afterwards.
        using var etcdPath = new TcpProxy(Etcd.ClientPort);
        var smallAndVerbose = new Dictionary<string, string>(small) { ["MESH_LOG"] = "Debug" };
        await using var slow = PeerProcess.Start(etcdPath.Url, "slow", [group], null, smallAndVerbose, "--lease-ttl", "60");
        await sender.WaitReadyAsync(group);
        await slow.WaitReadyAsync(group);
        await sender.WaitForAsync(p => OnlineNames(p, group).Contains("slow"), Long, "slow online");
        await slow.WaitForAsync(p => OnlineNames(p, group).Contains("sender"), Long, "sender online");

        etcdPath.Cut();
        slow.Signal(PeerProcess.SIGSTOP);
        // About 9 MB: past the high-water marks and the loopback TCP buffers both.
        var sent = Enumerable.Range(0, 3000).Select(i => $"burst {i:D4} " + new string((char)(0x61 + i % 26), 3000)).ToList();
        await sender.SendManyAsync(sent);
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 3000, Long, "3000 in history");
        var clock = Stopwatch.StartNew();
        slow.Signal(PeerProcess.SIGCONT);
        // Live frames first (with the gaps the high-water mark left), then history again.
        await slow.WaitForAsync(p => p.Messages(group).Count > 0, Long, "live frames after the thaw");
        etcdPath.Restore();

        await slow.WaitForAsync(p => p.Messages(group).Count >= 3000, Long, "all 3000");
        var recovery = clock.Elapsed;
        await MarkAsync(sender, group, slow);
        var received = Counted(slow, group).Select(m => m.Str("text")!).ToList();
        var report = FaultReport.Of("subscriber slowed past the high-water mark (20)", sent, received, recovery);
        report.Publish();
        Assert.That(report.Missing, Is.Zero);
        Assert.That(report.Duplicated, Is.Zero);
        Assert.That(received, Is.EqualTo(sent), "in the order sent");

        // Live frames were dropped at the high-water mark, and history brought them: either as repairs of gaps that
        // later live frames revealed, or as the tail that no live frame followed.
        await Waiting.UntilAsync(() => TookFromHistory().IsMatch(File.ReadAllText(slow.StderrPath)), Long, "messages taken from history logged", () => slow.Tail());
        var fromHistory = TookFromHistory().Matches(File.ReadAllText(slow.StderrPath)).Sum(m => long.Parse(m.Groups[1].Value));
        TestContext.Out.WriteLine($"{fromHistory} messages taken from history");
        Assert.That(fromHistory, Is.GreaterThan(0));
    }
}
