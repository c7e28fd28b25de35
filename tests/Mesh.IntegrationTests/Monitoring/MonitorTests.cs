using System.Text.Json;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Monitoring;

/// <summary><c>mesh monitor</c> against real etcd and real peers; its status page in headless Chromium.</summary>
[Category("Integration")]
public sealed class MonitorTests : EtcdFixture
{
    /// <summary>The peers listed as online (failed ones stay listed for a while: peers of earlier tests, say).</summary>
    /// <summary>The states of the links the running amy reports.</summary>
    private static IEnumerable<string> AmyLinks(JsonElement state) =>
        state.GetProperty("peers").EnumerateArray().Where(p => p.GetProperty("name").GetString() == "amy" && p.GetProperty("state").GetString() != "failed")
            .SelectMany(p => p.TryGetProperty("links", out var links) ? links.EnumerateArray().Select(l => l.GetProperty("state").GetString()!) : []);

    private static IEnumerable<string> PeerNames(JsonElement state) =>
        state.GetProperty("peers").EnumerateArray().Where(p => p.GetProperty("state").GetString() != "failed").Select(p => p.GetProperty("name").GetString()!);

    /// <summary>The verdict on a peer by name (healthy, suspect, failed), or null when it is not listed.</summary>
    /// <remarks>Online first: a peer of an earlier test by the same name may be listed as failed too.</remarks>
    private static string? State(JsonElement state, string name) =>
        state.GetProperty("peers").EnumerateArray().Where(p => p.GetProperty("name").GetString() == name)
            .Select(p => p.GetProperty("state").GetString()).OrderBy(s => s == "failed").FirstOrDefault();

    private static IEnumerable<string> Events(JsonElement state) =>
        state.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("text").GetString()!);

    [Test]
    public async Task The_status_page_lists_the_running_peers_and_draws_the_message_rate()
    {
        using var monitor = MonitorProcess.Start(Etcd.Url);
        var group = NewGroup("page");
        var (amy, bob) = await StartPairAsync(group, "amy", "bob");
        await amy.SendManyAsync(Enumerable.Range(1, 25).Select(i => $"m{i}"));
        await bob.WaitForAsync(p => p.Messages(group).Count == 25, Long, "25 messages");

        var state = await monitor.WaitForStateAsync(s =>
            PeerNames(s).Order().SequenceEqual(["amy", "bob"])
            && s.GetProperty("series").GetProperty("rate").EnumerateArray().Sum(v => v.GetDouble()) == 25
            && s.GetProperty("peers").EnumerateArray().Where(p => p.GetProperty("state").GetString() != "failed")
                .All(p => p.GetProperty("links").EnumerateArray().Count(l => l.GetProperty("state").GetString() == "up") == 1),
            Long, "amy and bob, each with its link to the other up, and 25 messages stored");
        var groupView = state.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("name").GetString() == group);
        Assert.That(groupView.GetProperty("members").EnumerateArray().Select(m => m.GetString()), Is.EquivalentTo(new[] { "amy", "bob" }));
        Assert.That(groupView.GetProperty("messagesSeen").GetInt64(), Is.EqualTo(25));

        // First paint: the page as served carries the state, so it shows the mesh before its first fetch.
        using (var http = new HttpClient())
        {
            var served = await http.GetStringAsync(monitor.Url);
            var initial = System.Text.RegularExpressions.Regex.Match(served, "<script id=\"initial-state\" type=\"application/json\">(.*?)</script>").Groups[1].Value;
            Assert.That(PeerNames(JsonDocument.Parse(initial).RootElement).Order(), Is.EqualTo(new[] { "amy", "bob" }), "the state in the page itself");
        }

        // The screenshot comes from the same load as the DOM checked here.
        var screenshot = Path.Combine(TestContext.CurrentContext.WorkDirectory, "status-page.png");
        var dom = Chromium.DumpDom(monitor.Url, screenshot);
        Assert.That(dom, Does.Contain("data-first-paint=\"state\""), "rendered from the state in the page");
        Assert.That(dom, Does.Contain("data-state=\"live\""), "the page fetched the state and rendered it");
        Assert.That(dom, Does.Not.Contain(">--<"), "legends show the latest values, not dashes");
        Assert.That(dom, Does.Match("messages/s</div></th><td class=\"u-value\">\\d+</td>"), "the current rate in the legend");
        var ticks = System.Text.RegularExpressions.Regex.Match(dom, "data-rate-ticks=\"([^\"]*)\"").Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(ticks, Has.Length.InRange(3, 8), "time ticks spaced for the width: " + string.Join(" ", ticks));
        Assert.That(ticks, Has.All.Match("^\\d\\d:\\d\\d(:\\d\\d)?$"), "one short label each, no date run into a time");
        Assert.That(dom, Does.Contain("data-peers=\"amy,bob\""));
        Assert.That(dom, Does.Match("data-rate-points=\"[1-9]"), "the rate graph has points above zero");
        Assert.That(dom, Does.Contain("<td>amy</td>").And.Contain("<td>bob</td>"), "the peers table");
        Assert.That(dom, Does.Contain("uplot").IgnoreCase.And.Contain("<canvas"), "graphs drawn by the bundled chart library");
        Assert.That(dom, Does.Not.Match("(src|href)=\"(https?:)?//"), "nothing loaded from elsewhere");
        Assert.That(dom, Does.Contain("src=\"/uplot.js\""), "the chart library comes from the monitor itself");

        var png = await File.ReadAllBytesAsync(screenshot);
        Assert.That(png.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "a PNG");
        Assert.That(png, Has.Length.GreaterThan(20_000), "a page with content, not a blank one");
        TestContext.AddTestAttachment(screenshot, "the status page after a short chat");
    }

    [Test]
    public async Task A_peer_that_leaves_is_told_apart_from_one_whose_lease_expired()
    {
        using var monitor = MonitorProcess.Start(Etcd.Url);
        await monitor.WaitForStateAsync(s => s.GetProperty("etcd").GetArrayLength() == 1, Long, "etcd's health");
        var group = NewGroup("expiry");
        var leaver = StartPeer("leaver", [group], null, "--lease-ttl", "2");
        var crasher = StartPeer("crasher", [group], null, "--lease-ttl", "2");
        await leaver.WaitReadyAsync(group, Long);
        await crasher.WaitReadyAsync(group, Long);
        // By name: peers of earlier tests on this etcd (leases of 60 s, killed) may still be listed for a while.
        await monitor.WaitForStateAsync(s => PeerNames(s).Contains("leaver") && PeerNames(s).Contains("crasher"), Long, "both peers");

        Assert.That(await leaver.CloseAsync(Long), Is.Zero);
        crasher.Kill();
        var state = await monitor.WaitForStateAsync(s => !PeerNames(s).Contains("leaver") && State(s, "crasher") == "failed", Long,
            "the leaver gone, the crasher listed as failed");
        Assert.That(Events(state), Has.One.Match("^leaver .* left$"));
        Assert.That(Events(state), Has.One.Match("^crasher .* failed: its lease expired$"));
        Assert.That(Events(state).Where(e => e.StartsWith("leaver", StringComparison.Ordinal)), Has.None.Contains("failed"));
        // Peers of earlier tests on this etcd were killed too: at least this one expiry is counted.
        Assert.That(state.GetProperty("leaseExpiries").GetInt64(), Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public async Task SIGTERM_stops_the_monitor_cleanly()
    {
        using var monitor = MonitorProcess.Start(Etcd.Url);
        await monitor.WaitForStateAsync(s => s.GetProperty("etcd").GetArrayLength() == 1, Long, "etcd's health");
        Assert.That(await monitor.TerminateAsync(TimeSpan.FromSeconds(20)), Is.Zero);
        Assert.That(await monitor.StateAsync(), Is.Null, "the page is gone");
    }

    [Test]
    public async Task A_link_that_drops_shows_down_on_the_page()
    {
        using var monitor = MonitorProcess.Start(Etcd.Url);
        var group = NewGroup("linkdown");
        var amy = StartPeer("amy", group);
        await amy.WaitReadyAsync(group, Long);
        // Bob's lease outlives the check: a loaded machine must not see his lease expire (and his links go with
        // him) before amy's report of the link down reaches the monitor.
        var bob = StartPeer("bob", [group], null, "--lease-ttl", "60");
        await bob.WaitReadyAsync(group, Long);
        await amy.WaitForAsync(p => OnlineNames(p, group).Contains("bob"), Long, "bob online");
        // Amy's own links, not the page's total: peers of earlier tests on this etcd may still be listed with theirs down.
        await monitor.WaitForStateAsync(s => PeerNames(s).Contains("bob") && AmyLinks(s).Any() && AmyLinks(s).All(l => l == "up"), Long, "both peers, links up");

        // A stopped process keeps its lease for the TTL, but its heartbeats stop: amy reports the link down.
        bob.Signal(PeerProcess.SIGSTOP);
        try
        {
            var state = await monitor.WaitForStateAsync(s => s.GetProperty("linksDown").GetInt32() >= 1 && AmyLinks(s).Contains("down"), Long, "amy's link to bob down");
            var amyView = state.GetProperty("peers").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "amy" && p.GetProperty("state").GetString() != "failed");
            Assert.That(amyView.GetProperty("links").EnumerateArray().Single().GetProperty("state").GetString(), Is.EqualTo("down"));
        }
        finally
        {
            bob.Signal(PeerProcess.SIGCONT);
        }

        // A clean exit, so that his 60 s lease does not keep him listed into the next test on this etcd.
        Assert.That(await bob.CloseAsync(Long), Is.Zero);
    }

    [Test]
    public async Task A_frozen_peer_is_flagged_suspect_and_a_killed_one_stays_listed_greyed_with_its_cause()
    {
        using var monitor = MonitorProcess.Start(Etcd.Url);
        var group = NewGroup("verdict");
        var peers = await StartOnlineAsync(group, "amy", "bob");
        // Cleo's lease outlives the freeze: what makes her suspect is the others' reports, not her lease.
        var cleo = StartPeer("cleo", [group], null, "--lease-ttl", "60");
        await cleo.WaitReadyAsync(group, Long);
        await monitor.WaitForStateAsync(s => PeerNames(s).Count() == 3 && s.GetProperty("linksDown").GetInt32() == 0
            && s.GetProperty("peers").EnumerateArray().Where(p => p.GetProperty("state").GetString() != "failed").All(p => p.GetProperty("links").GetArrayLength() == 2),
            Long, "three peers, all links up");

        cleo.Signal(PeerProcess.SIGSTOP);
        try
        {
            var state = await monitor.WaitForStateAsync(s => State(s, "cleo") == "suspect", Long, "cleo suspect");
            var view = state.GetProperty("peers").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "cleo" && p.GetProperty("state").GetString() != "failed");
            Assert.That(view.GetProperty("links").EnumerateArray().Select(l => l.GetProperty("state").GetString()), Is.All.EqualTo("up"),
                "her own last report still says all is well");
            Assert.That(view.GetProperty("cause").GetString(), Does.Contain("see its link down"));
            Assert.That(State(state, "amy"), Is.EqualTo("healthy"));
            var dom = await StatusPageShots.WaitForAsync(monitor, d => d.Contains("data-suspect=\"cleo\""), Long, "the page flags cleo",
                "status-page-suspect.png", "a frozen peer flagged suspect");
            Assert.That(dom, Does.Contain("suspect since").And.Contain("<tr class=\"suspect\">"), "the row and its verdict");
            Assert.That(dom, Does.Contain("id=\"suspect-count\">1<"));
        }
        finally
        {
            cleo.Signal(PeerProcess.SIGCONT);
        }

        // Killed: once her lease runs out she is failed, still listed, greyed, with the cause and the time.
        var bob = peers[1];
        bob.Kill();
        await monitor.WaitForStateAsync(s => State(s, "bob") == "failed", TimeSpan.FromSeconds(60), "bob failed");
        var page = await StatusPageShots.WaitForAsync(monitor, d => d.Contains("data-failed=\"bob\""), Long, "the page shows bob failed",
            "status-page-failed.png", "a killed peer greyed with its cause");
        Assert.That(page, Does.Contain("<tr class=\"failed\">").And.Contain("failed at ").And.Contain("its lease expired"));
        Assert.That(page, Does.Contain("data-peers=\"amy,cleo\""), "online: the others");
        // A clean exit, so that her 60 s lease does not keep her listed into the next test on this etcd.
        Assert.That(await cleo.CloseAsync(Long), Is.Zero);
    }
}
