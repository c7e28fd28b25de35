using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>Messages sent while etcd is down reach history once etcd is back: after an exit, and after a crash.</summary>
public sealed class OutboxTests : EtcdFixture
{
    [TestCase(false, TestName = "Messages sent while etcd is down reach history after the sender exits and comes back")]
    [TestCase(true, TestName = "Messages sent while etcd is down reach history after the sender is killed and comes back")]
    public async Task Sent_while_etcd_is_down_then_written_once_on_the_next_start(bool kill)
    {
        var group = NewGroup("outbox");
        var home = Path.Combine(Path.GetTempPath(), $"mesh-home-out-{Guid.NewGuid():N}");
        // Leaving while etcd is down, it waits 1 s for etcd instead of the default 5 s: etcd does not come back meanwhile.
        var sender = Track(PeerProcess.Start(Etcd.Url, "sam", [group], home, new Dictionary<string, string> { ["MESH_EXIT_WRITE_WAIT"] = "1s" }));
        var reader = StartPeer("rae", group);
        await sender.WaitReadyAsync(group);
        await reader.WaitReadyAsync(group);
        await sender.WaitForAsync(p => OnlineNames(p, group).Contains("rae"), Long, "rae online");
        await sender.SendAsync("before the outage");
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 1, Long, "first message in history");

        Etcd.Kill();
        await sender.WaitForAsync(p => p.Of("disconnected").Count > 0, TimeSpan.FromSeconds(30), "etcd lost");
        await sender.SendManyAsync(Enumerable.Range(0, 10).Select(i => $"during the outage {i}"));
        // Shown as sent, and delivered live to the connected member.
        await reader.WaitForAsync(p => p.Messages(group).Count == 11, Long, "11 messages live");

        if (kill)
        {
            sender.Kill();
        }
        else
        {
            Assert.That(await sender.CloseAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(0), "nothing is lost, so a clean exit");
            Assert.That(sender.Of("error").Any(e => e.Str("message")!.Contains("kept in the outbox")), Is.True);
        }

        await Etcd.StartAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var back = StartPeer("sam", [group], home);
        await back.WaitReadyAsync(group, Long);
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 11, Long, "all 11 in history");
        var sentTexts = new[] { "before the outage" }.Concat(Enumerable.Range(0, 10).Select(i => $"during the outage {i}")).ToList();
        var report = Faults.FaultReport.Of(kill ? "peer killed (SIGKILL) while etcd was down, then restarted" : "peer exited while etcd was down, then restarted",
            sentTexts, (await HistoryAsync(group, home)).Select(m => m.Str("text")!).ToList(), clock.Elapsed);
        report.Publish();
        Assert.That(report.Missing, Is.Zero);
        Assert.That(report.Duplicated, Is.Zero);

        var history = await HistoryAsync(group, home);
        Assert.That(history.Select(m => m.Str("text")),
            Is.EqualTo(new[] { "before the outage" }.Concat(Enumerable.Range(0, 10).Select(i => $"during the outage {i}"))));
        Assert.That(history.Select(m => m.Str("id")).Distinct().Count(), Is.EqualTo(11));
        Assert.That(reader.Messages(group).Select(m => m.Str("id")).Distinct().Count(), Is.EqualTo(reader.Messages(group).Count), "the reader saw none twice");
        await Waiting.UntilAsync(() => !Directory.EnumerateFiles(Path.Combine(home, "outbox")).Any(), Long, "the outbox emptied");
    }
}
