using System.Text.Json;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Monitoring;

/// <summary>Per-link and per-peer health on the status page, from real peers reporting to a real InfluxDB: each
/// link's round trip, each peer's delivery latency and outbox, links going down and up as events, and what a
/// restarted monitor still knows (its events, read back from InfluxDB; the history's size, counted in etcd).</summary>
[Category("Integration")]
public sealed class MonitorLinkHealthTests : EtcdFixture
{
    private InfluxProcess _influx = null!;

    [OneTimeSetUp]
    public async Task StartInflux() => _influx = await InfluxProcess.StartNewAsync();

    [OneTimeTearDown]
    public void StopInflux() => _influx?.Dispose();

    private static IEnumerable<JsonElement> Online(JsonElement state) =>
        state.GetProperty("peers").EnumerateArray().Where(p => p.GetProperty("state").GetString() != "failed");

    private static JsonElement PeerNamed(JsonElement state, string name) => Online(state).Single(p => p.GetProperty("name").GetString() == name);

    private static IEnumerable<(string Kind, string Text)> Events(JsonElement state) =>
        state.GetProperty("events").EnumerateArray().Select(e => (e.GetProperty("kind").GetString()!, e.GetProperty("text").GetString()!));

    private static JsonElement GroupNamed(JsonElement state, string group) =>
        state.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("name").GetString() == group);

    [Test]
    public async Task Round_trips_latency_and_backlog_are_shown_and_link_events_and_the_history_count_outlive_a_monitor_restart()
    {
        var database = "links" + Guid.NewGuid().ToString("N")[..8];
        string[] influx = ["--influx", _influx.Url, "--influx-db", database, "--influx-interval", "1"];
        var monitor = MonitorProcess.Start(Etcd.Url, influx);
        try
        {
            var group = NewGroup("linkhealth");
            var amy = StartPeer("amy", [group], null, influx);
            var bob = StartPeer("bob", [group], null, influx);
            // Cleo's lease outlives her freeze: her links go down, she does not leave.
            var cleo = StartPeer("cleo", [group], null, [.. influx, "--lease-ttl", "60"]);
            foreach (var peer in new[] { amy, bob, cleo })
            {
                await peer.WaitReadyAsync(group, Long);
            }

            await amy.SendManyAsync(Enumerable.Range(1, 20).Select(i => $"m{i}"));
            await bob.WaitForAsync(p => p.Messages(group).Count == 20, Long, "bob has the 20");
            var state = await monitor.WaitForStateAsync(s => Online(s).Count() == 3
                && Online(s).All(p => p.GetProperty("links").GetArrayLength() == 2
                    && p.GetProperty("links").EnumerateArray().All(l => l.GetProperty("state").GetString() == "up" && l.GetProperty("rttMs").ValueKind == JsonValueKind.Number))
                && PeerNamed(s, "bob").GetProperty("figures") is { ValueKind: JsonValueKind.Object } f && f.GetProperty("deliveryP50Ms").ValueKind == JsonValueKind.Number
                && PeerNamed(s, "amy").GetProperty("figures") is { ValueKind: JsonValueKind.Object } a && a.GetProperty("outboxBacklog").ValueKind == JsonValueKind.Number,
                Long, "every link up with a round trip, bob's delivery latency and amy's outbox from InfluxDB");
            var rtt = PeerNamed(state, "amy").GetProperty("links").EnumerateArray().Select(l => l.GetProperty("rttMs").GetDouble()).ToList();
            Assert.That(rtt, Is.All.GreaterThan(0).And.All.LessThan(1000), "loopback round trips, measured");
            Assert.That(PeerNamed(state, "bob").GetProperty("figures").GetProperty("deliveryP99Ms").GetDouble(), Is.GreaterThanOrEqualTo(0));
            Assert.That(PeerNamed(state, "amy").GetProperty("figures").GetProperty("outboxBacklog").GetInt64(), Is.Zero, "all 20 stored");
            Assert.That(GroupNamed(state, group).GetProperty("inHistory").GetInt64(), Is.EqualTo(20));

            // Reported at the next interval after the beats measured them: waited for, not read once.
            var members = new List<string>();
            await Waiting.UntilAsync(async () =>
            {
                var rttSeries = await _influx.SeriesAsync(database, "SELECT last(\"value\") FROM \"mesh_link_rtt\" WHERE \"name\" = 'amy' GROUP BY \"member_name\"");
                members = rttSeries.Select(s => s.Tags["member_name"]).ToList();
                return members.Count >= 2;
            }, Long, "amy's round trips to both members in InfluxDB");
            Assert.That(members, Is.EquivalentTo(new[] { "bob", "cleo" }), "amy's round trips in InfluxDB, one series per member");

            var dom = Chromium.DumpDom(monitor.Url);
            Assert.That(dom, Does.Match("bob up \\d+(\\.\\d+)? ms"), "the round trip on the link chip");
            Assert.That(dom, Does.Match("class=\"from-influx\"[^>]*>\\d+(\\.\\d+)? ms / \\d+(\\.\\d+)? ms<"), "a delivery latency p50 / p99");

            cleo.Signal(PeerProcess.SIGSTOP);
            try
            {
                await monitor.WaitForStateAsync(s => Events(s).Contains((Mesh.Monitoring.Watcher.MeshEventKinds.LinkDown, "link amy → cleo down")), Long, "amy's link to cleo down as an event");
            }
            finally
            {
                cleo.Signal(PeerProcess.SIGCONT);
            }

            state = await monitor.WaitForStateAsync(s => Events(s).Contains((Mesh.Monitoring.Watcher.MeshEventKinds.LinkUp, "link amy → cleo up again")), Long, "and back up");
            StatusPageShots.Save(monitor, "status-page-links.png", "round trips, latency and outbox per peer; link events");

            // The monitor's events reach InfluxDB with its next report: then a new monitor reads them back.
            await Waiting.UntilAsync(async () => (await _influx.SeriesAsync(database, "SELECT \"text\" FROM \"mesh_events\" WHERE \"kind\" = 'link_up'")).Count > 0,
                Long, "the link events in InfluxDB");
            Assert.That(await monitor.TerminateAsync(Long), Is.Zero);
            monitor.Dispose();
            monitor = MonitorProcess.Start(Etcd.Url, influx);
            state = await monitor.WaitForStateAsync(s => Events(s).Contains((Mesh.Monitoring.Watcher.MeshEventKinds.LinkDown, "link amy → cleo down"))
                && s.GetProperty("groups").EnumerateArray().Any(g => g.GetProperty("name").GetString() == group && g.GetProperty("inHistory").ValueKind == JsonValueKind.Number),
                Long, "the restarted monitor with the earlier events and the group's history counted");
            Assert.That(GroupNamed(state, group).GetProperty("inHistory").GetInt64(), Is.EqualTo(20), "the whole history, not since the restart");
            Assert.That(GroupNamed(state, group).GetProperty("messagesSeen").GetInt64(), Is.Zero, "none stored since");
            Assert.That(Events(state).Count(e => e.Text == "link amy → cleo down"), Is.EqualTo(1), "read back once");
        }
        finally
        {
            monitor.Dispose();
        }
    }
}
