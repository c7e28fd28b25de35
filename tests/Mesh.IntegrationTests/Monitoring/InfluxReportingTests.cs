using System.Text.Json;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Monitoring;

/// <summary>Peers report to a real InfluxDB; the chat does not depend on it.</summary>
[Category("Integration")]
public sealed class InfluxReportingTests : EtcdFixture
{
    private InfluxProcess _influx = null!;

    [OneTimeSetUp]
    public async Task StartInflux() => _influx = await InfluxProcess.StartNewAsync();

    [OneTimeTearDown]
    public void StopInflux() => _influx?.Dispose();

    private PeerProcess StartReporting(string name, string group, string database) =>
        StartPeer(name, [group], null, "--influx", _influx.Url, "--influx-db", database, "--influx-interval", "1");

    private async Task<(PeerProcess Amy, PeerProcess Bob)> StartReportingPairAsync(string group, string database)
    {
        var amy = StartReporting("amy", group, database);
        var bob = StartReporting("bob", group, database);
        await amy.WaitReadyAsync(group, Long);
        await bob.WaitReadyAsync(group, Long);
        await amy.WaitForAsync(p => OnlineNames(p, group).Count == 2, Long, "both online");
        return (amy, bob);
    }

    private async Task<double> SumAsync(string database, string query)
    {
        var series = await _influx.SeriesAsync(database, query);
        return series.SelectMany(s => s.Rows).Sum(r => r[1].ValueKind == JsonValueKind.Number ? r[1].GetDouble() : 0);
    }

    private static Task WaitForAsync(Func<Task<bool>> condition, string what) => Waiting.UntilAsync(condition, Long, what);

    [Test]
    public async Task Peers_report_traffic_latency_links_and_process_figures_into_a_database_they_create()
    {
        var group = NewGroup("metrics");
        var database = "m" + Guid.NewGuid().ToString("N")[..12];
        var (amy, bob) = await StartReportingPairAsync(group, database);
        await amy.SendManyAsync(Enumerable.Range(1, 30).Select(i => $"m{i}"));
        await bob.WaitForAsync(p => p.Messages(group).Count(m => m.Str("from") == "amy") == 30, Long, "30 messages at bob");

        // The database did not exist: the reporter created it.
        await WaitForAsync(async () => await SumAsync(database,
            $"SELECT sum(\"count\") FROM \"mesh_messages_received\" WHERE \"name\" = 'bob' AND \"group\" = '{group}'") >= 30
            && await SumAsync(database, $"SELECT sum(\"count\") FROM \"mesh_delivery_latency\" WHERE \"group\" = '{group}'") >= 30,
            "30 received messages of bob in InfluxDB");
        // amy reports on her own schedule: wait for her figures as well.
        await WaitForAsync(async () => await SumAsync(database, $"SELECT sum(\"count\") FROM \"mesh_messages_sent\" WHERE \"name\" = 'amy' AND \"group\" = '{group}'") >= 30
            && await SumAsync(database, "SELECT sum(\"count\") FROM \"mesh_history_written\" WHERE \"name\" = 'amy'") >= 30, "amy's 30 sent and persisted messages");
        Assert.That(await SumAsync(database, $"SELECT sum(\"count\") FROM \"mesh_messages_sent\" WHERE \"name\" = 'amy' AND \"group\" = '{group}'"), Is.EqualTo(30));
        Assert.That(await SumAsync(database, "SELECT sum(\"count\") FROM \"mesh_history_written\" WHERE \"name\" = 'amy'"), Is.EqualTo(30));

        var latency = await _influx.SeriesAsync(database, $"SELECT \"p50\", \"p99\", \"count\" FROM \"mesh_delivery_latency\" WHERE \"group\" = '{group}'");
        var rows = latency.SelectMany(s => s.Rows).ToList();
        Assert.That(rows.Sum(r => r[3].GetDouble()), Is.EqualTo(30), "one latency sample per message delivered live");
        Assert.That(rows.All(r => r[1].GetDouble() >= 0 && r[2].GetDouble() < 10_000), "latencies in milliseconds, plausible");

        await WaitForAsync(async () => (await _influx.SeriesAsync(database, "SELECT last(\"value\") FROM \"mesh_links_connected\" GROUP BY \"name\""))
            .Count(s => s.Rows.Any(r => r[1].GetDouble() == 1)) == 2, "each peer reports 1 connected link");
        var memory = await _influx.SeriesAsync(database, "SELECT last(\"value\") FROM \"mesh_process_memory\" WHERE \"kind\" = 'resident' GROUP BY \"peer\", \"host\"");
        Assert.That(memory, Has.Count.EqualTo(2));
        Assert.That(memory.All(s => s.Rows[0][1].GetDouble() > 10_000_000 && s.Tags["host"] == Environment.MachineName));
        // Keep-alives go every third of the lease TTL: the first may come after the chat.
        await WaitForAsync(async () => await SumAsync(database, "SELECT sum(\"count\") FROM \"mesh_lease_renewals\"") > 0, "lease renewals");
        Assert.That(await SumAsync(database, "SELECT count(\"p99\") FROM \"mesh_etcd_latency\""), Is.GreaterThan(0));
    }

    [Test]
    public async Task Names_with_spaces_commas_equals_signs_and_quotes_arrive_intact()
    {
        var database = "m" + Guid.NewGuid().ToString("N")[..12];
        using var meter = new System.Diagnostics.Metrics.Meter("Mesh.Test.Escaping");
        var counter = meter.CreateCounter<long>("odd name, with=signs");
        using var collector = new Mesh.Monitoring.MetricsCollector([meter]);
        await using var reporter = new Mesh.Monitoring.Influx.InfluxReporter(
            new Mesh.Monitoring.Influx.InfluxSettings(new Uri(_influx.Url + "/"), database, TimeSpan.FromHours(1)),
            collector, [new("host", "box one"), new("name", "amy, \"the\" = first")], meter,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        counter.Add(7, new KeyValuePair<string, object?>("group", "g=1, \"q\" \\ end"));
        await reporter.ReportAsync(CancellationToken.None);

        Assert.That(reporter.Sent, Is.EqualTo(3), "the counter, and the reporter's own dropped and buffered figures");
        var series = await _influx.SeriesAsync(database, "SELECT \"count\", \"total\" FROM \"odd name, with=signs\" GROUP BY *");
        Assert.That(series, Has.Count.EqualTo(1));
        Assert.That(series[0].Tags["host"], Is.EqualTo("box one"));
        Assert.That(series[0].Tags["name"], Is.EqualTo("amy, \"the\" = first"));
        Assert.That(series[0].Tags["group"], Is.EqualTo("g=1, \"q\" \\ end"));
        Assert.That(series[0].Rows[0][1].GetInt64(), Is.EqualTo(7));
    }

    [Test]
    public async Task Chat_goes_on_while_InfluxDB_is_down_and_what_was_measured_meanwhile_arrives_when_it_is_back()
    {
        var group = NewGroup("influx-down");
        var database = "m" + Guid.NewGuid().ToString("N")[..12];
        var (amy, bob) = await StartReportingPairAsync(group, database);
        await amy.SendAsync("before");
        await WaitForAsync(async () => await SumAsync(database, "SELECT sum(\"count\") FROM \"mesh_messages_received\" WHERE \"name\" = 'bob'") >= 1, "reporting works");

        _influx.Kill();
        var down = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await amy.SendManyAsync(Enumerable.Range(1, 20).Select(i => $"during {i}"));
        await bob.WaitForAsync(p => p.Messages(group).Count(m => m.Str("text")!.StartsWith("during", StringComparison.Ordinal)) == 20, Long, "20 messages while InfluxDB is down");
        // Reports keep coming due while it is down (interval 1 s): wait for a few of them to fail.
        await bob.WaitForAsync(p => File.ReadAllText(p.StderrPath).Contains("does not take metrics", StringComparison.Ordinal), Long, "the reporter noticing");
        var up = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await _influx.StartAsync();

        await WaitForAsync(async () => await SumAsync(database, "SELECT sum(\"count\") FROM \"mesh_messages_received\" WHERE \"name\" = 'bob'") >= 21,
            "the messages received while InfluxDB was down, reported after");
        var during = await _influx.SeriesAsync(database, $"SELECT count(\"value\") FROM \"mesh_process_memory\" WHERE \"name\" = 'bob' AND time > {down}ms AND time < {up}ms");
        Assert.That(during.SelectMany(s => s.Rows).Sum(r => r[1].GetDouble()), Is.GreaterThan(0), "points measured during the outage were buffered and sent");
        Assert.That(amy.Exited || bob.Exited, Is.False);
    }
}
