using System.Diagnostics;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>A link to a member that freezes is declared lost by heartbeat, and comes back when the member does.</summary>
public sealed class LinkTests : EtcdFixture
{
    [Test]
    public async Task A_frozen_member_is_reported_disconnected_within_the_heartbeat_timeout_and_reconnected_after()
    {
        var group = NewGroup("link");
        var watcher = StartPeer("wanda", group);
        await watcher.WaitReadyAsync(group);
        // A long lease: what is tested here is the link's own heartbeat, not presence.
        var frozen = StartPeer("fred", [group], null, "--lease-ttl", "60");
        await frozen.WaitReadyAsync(group);
        await watcher.WaitForAsync(p => OnlineNames(p, group).Contains("fred") && p.Of("joined").Count > 0, Long, "fred online");
        await frozen.SendAsync("before the freeze");
        await watcher.WaitForAsync(p => p.Messages(group).Count == 1, Long, "first message");

        var clock = Stopwatch.StartNew();
        frozen.Signal(PeerProcess.SIGSTOP);
        await watcher.WaitForAsync(p => p.Of("disconnected").Any(e => e.Str("target") == "fred" && e.Str("kind") == "member"),
            TimeSpan.FromSeconds(20), "link to fred lost");
        TestContext.Out.WriteLine($"link loss reported {clock.ElapsedMilliseconds} ms after SIGSTOP");
        Assert.That(watcher.Of("left", group), Is.Empty, "its lease still holds: lost link, not a departure");

        frozen.Signal(PeerProcess.SIGCONT);
        await watcher.WaitForAsync(p => p.Of("reconnected").Any(e => e.Str("target") == "fred"), TimeSpan.FromSeconds(30), "link to fred back");
        await frozen.SendAsync("after the thaw");
        await watcher.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "after the thaw"), Long, "message after the thaw");
    }

    [Test]
    public async Task Members_gives_each_link_and_a_round_trip_measured_on_the_beats_and_a_frozen_one_shows_down()
    {
        var group = NewGroup("rtt");
        var (wanda, fred) = await StartPairAsync(group, "wanda", "fred");
        System.Text.Json.JsonElement Fred(PeerProcess p) =>
            p.Of("members", group).Last().GetProperty("members").EnumerateArray().First(m => m.Str("name") == "fred");

        var asked = 0;
        await Waiting.UntilAsync(async () =>
        {
            // Asked again until the beats have gone round: a round trip needs a beat each way.
            await wanda.SendAsync("/members");
            var answer = ++asked;
            await wanda.WaitForAsync(p => p.Of("members", group).Count >= answer, Long, "the answer to /members");
            return Fred(wanda).TryGetProperty("rtt_ms", out _);
        }, Long, "a round trip to fred");
        var fredRow = Fred(wanda);
        var rtt = fredRow.GetProperty("rtt_ms").GetDouble();
        TestContext.Out.WriteLine($"round trip wanda to fred on loopback: {rtt} ms after {asked} asks");
        Assert.That(fredRow.Str("link"), Is.EqualTo("up"));
        Assert.That(rtt, Is.GreaterThan(0).And.LessThan(1000), "a loopback round trip, less the hold");
        var self = wanda.Of("members", group).Last().GetProperty("members").EnumerateArray().First(m => m.Str("name") == "wanda");
        Assert.That(self.Str("link"), Is.EqualTo("self"));

        fred.Signal(PeerProcess.SIGSTOP);
        await wanda.WaitForAsync(p => p.Of("disconnected").Any(e => e.Str("target") == "fred"), TimeSpan.FromSeconds(20), "link to fred lost");
        await wanda.SendAsync("/members");
        await wanda.WaitForAsync(p => p.Of("members", group).Count > asked, Long, "the answer to /members");
        Assert.That(Fred(wanda).Str("link"), Is.AnyOf("down", "reconnecting", "offline"), "a frozen member's link is not up");
        fred.Signal(PeerProcess.SIGCONT);
    }
}
