using System.Text.Json;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Monitoring;

/// <summary>What the status page says when the monitor loses InfluxDB, then etcd: a banner at the top naming what
/// is lost, since when and why in plain words, and every figure from it greyed with its age. Its own etcd and
/// InfluxDB, since both are stopped.</summary>
[Category("Integration")]
public sealed class MonitorFreshnessTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    private static JsonElement Source(JsonElement state, string name) =>
        state.GetProperty("sources").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);

    private static string SourceState(JsonElement state, string name) => Source(state, name).GetProperty("state").GetString()!;

    [Test]
    public async Task Losing_InfluxDB_then_etcd_raises_a_banner_naming_each_with_its_cause_and_greys_what_is_stale()
    {
        using var etcd = await EtcdProcess.StartAsync();
        using var influx = await InfluxProcess.StartNewAsync();
        var database = "fresh" + Guid.NewGuid().ToString("N")[..8];
        using var monitor = MonitorProcess.Start(etcd.Url, "--influx", influx.Url, "--influx-db", database, "--influx-interval", "1");
        var group = "fresh-" + Guid.NewGuid().ToString("N")[..8];
        await using var amy = PeerProcess.Start(etcd.Url, "amy", [group], null, "--influx", influx.Url, "--influx-db", database, "--influx-interval", "1");
        await amy.WaitReadyAsync(group, Long);
        var healthy = await monitor.WaitForStateAsync(s => SourceState(s, "etcd") == "live" && SourceState(s, "InfluxDB") == "live"
            && s.GetProperty("peers").GetArrayLength() == 1, Long, "both sources live, amy listed");
        Assert.That(Source(healthy, "etcd").GetProperty("ageMs").GetInt64(), Is.LessThan(10_000), "etcd answered within the last checks");
        var dom = StatusPageShots.Load(monitor, "status-page-healthy.png", "all sources live");
        Assert.That(dom, Does.Contain("id=\"stale-banner\" role=\"alert\" hidden"), "no banner while all is well");
        Assert.That(dom, Does.Contain("etcd live").And.Contain("InfluxDB live"));
        Assert.That(dom, Does.Match("class=\"age\"[^>]*>as of (just now|\\d+ s ago)<"), "every tile carries its age");

        influx.Kill();
        var state = await monitor.WaitForStateAsync(s => SourceState(s, "InfluxDB") == "lost", Long, "InfluxDB lost");
        Assert.That(Source(state, "InfluxDB").GetProperty("cause").GetString(), Does.StartWith("connection refused"), "the cause in plain words");
        Assert.That(SourceState(state, "etcd"), Is.EqualTo("live"));
        dom = await StatusPageShots.WaitForAsync(monitor, d => d.Contains("data-stale=\"InfluxDB\""), Long, "the page marks InfluxDB stale",
            "status-page-influx-down.png", "InfluxDB down: the banner");
        Assert.That(dom, Does.Contain("InfluxDB unreachable since").And.Contain("connection refused"), "the banner names it and why");
        Assert.That(dom, Does.Contain("influx-stale"));
        await influx.StartAsync();
        await monitor.WaitForStateAsync(s => SourceState(s, "InfluxDB") == "live", Long, "InfluxDB live again");

        etcd.Kill();
        state = await monitor.WaitForStateAsync(s => SourceState(s, "etcd") == "lost", Long, "etcd lost");
        var cause = Source(state, "etcd").GetProperty("cause").GetString()!;
        Assert.That(cause, Does.StartWith("connection refused: nothing listens").Or.StartWith("no answer"), "plain words");
        Assert.That(cause, Does.Not.Contain("subchannel"));
        dom = await StatusPageShots.WaitForAsync(monitor, d => d.Contains("data-stale=\"etcd\""), Long, "the page marks etcd stale",
            "status-page-etcd-down.png", "etcd down: the banner and greyed figures");
        Assert.That(dom, Does.Contain("etcd unreachable since").And.Contain("as etcd last told them"), "the banner says what is stale");
        Assert.That(dom, Does.Contain("etcd-stale"), "what came from etcd is greyed");
        Assert.That(dom, Does.Match("class=\"age stale\"[^>]*>stale, as of \\d+ s ago<"), "the tiles say how old they are");
        Assert.That(dom, Does.Contain("<td>amy</td>"), "the last-known peers are still shown");
        Assert.That(state.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("text").GetString()), Has.Some.StartWith("etcd lost: "));

        await etcd.StartAsync();
        await monitor.WaitForStateAsync(s => SourceState(s, "etcd") == "live", Long, "etcd live again");
        await Waiting.UntilAsync(() => Chromium.DumpDom(monitor.Url).Contains("data-stale=\"\""), Long, "the banner gone");
    }
}
