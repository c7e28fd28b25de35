using System.Text.Json;
using System.Text.RegularExpressions;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Monitoring;

/// <summary>The Grafana dashboard shipped in deploy/ works against real data: after a short chat reported by real
/// peers and mesh monitor to a real InfluxDB, every query of every panel returns values.</summary>
[Category("Integration")]
public sealed partial class DashboardTests : EtcdFixture
{
    private InfluxProcess _influx = null!;

    [OneTimeSetUp]
    public async Task StartInflux() => _influx = await InfluxProcess.StartNewAsync();

    [OneTimeTearDown]
    public void StopInflux() => _influx?.Dispose();

    private static JsonElement Dashboard() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "dashboards", "mesh-health.json"))).RootElement.Clone();

    /// <summary>What Grafana does to a query before sending it: time filter, interval, and template variables
    /// (here their All value, as the dashboard opens).</summary>
    private static string Fill(string query, IReadOnlyDictionary<string, string> variables)
    {
        var filled = query.Replace("$timeFilter", "time >= now() - 15m", StringComparison.Ordinal)
            .Replace("$__interval", "2s", StringComparison.Ordinal);
        return Variable().Replace(filled, m => variables.TryGetValue(m.Groups[1].Value, out var value) ? value : m.Value);
    }

    [GeneratedRegex(@"\$(\w+)")]
    private static partial Regex Variable();

    [Test]
    public void The_dashboard_uses_the_provisioned_datasource_and_is_mounted_where_the_provider_reads()
    {
        var grafana = Path.Combine(AppContext.BaseDirectory, "grafana");
        var datasource = File.ReadAllText(Path.Combine(grafana, "provisioning", "datasources", "mesh-influxdb.yml"));
        var provider = File.ReadAllText(Path.Combine(grafana, "provisioning", "dashboards", "mesh.yml"));
        var compose = File.ReadAllText(Path.Combine(grafana, "docker-compose.yml"));
        Assert.That(datasource, Does.Contain("uid: mesh-influxdb").And.Contain("dbName: mesh").And.Contain("type: influxdb"));
        Assert.That(provider, Does.Contain("path: /var/lib/grafana/dashboards"));
        Assert.That(compose, Does.Contain("./grafana/dashboards:/var/lib/grafana/dashboards").And.Contain("./grafana/provisioning:/etc/grafana/provisioning"));

        var dashboard = Dashboard();
        var uids = dashboard.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("datasource")).Append(p.GetProperty("datasource")))
            .Concat(dashboard.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v => v.GetProperty("datasource")))
            .Select(d => d.GetProperty("uid").GetString()).Distinct();
        Assert.That(uids, Is.EqualTo(new[] { "mesh-influxdb" }));
        Assert.That(dashboard.GetProperty("panels").EnumerateArray().Select(p => p.GetProperty("id").GetInt32()), Is.Unique);
    }

    [Test]
    public async Task Every_panel_query_of_the_dashboard_returns_data_after_a_short_chat()
    {
        var dashboard = Dashboard();
        Assert.That(dashboard.GetProperty("title").GetString(), Is.EqualTo("Mesh health"));
        var database = "mesh" + Guid.NewGuid().ToString("N")[..8];
        string[] influx = ["--influx", _influx.Url, "--influx-db", database, "--influx-interval", "1"];
        using var monitor = MonitorProcess.Start(Etcd.Url, influx);
        await monitor.WaitForStateAsync(s => s.GetProperty("etcd").GetArrayLength() == 1, Long, "etcd's health");
        var group = NewGroup("dash");
        var amy = StartPeer("amy", [group], null, influx);
        var bob = StartPeer("bob", [group], null, influx);
        await amy.WaitReadyAsync(group, Long);
        await bob.WaitReadyAsync(group, Long);
        await amy.WaitForAsync(p => OnlineNames(p, group).Count == 2, Long, "both online");
        await amy.SendManyAsync(Enumerable.Range(1, 20).Select(i => $"a{i}"));
        await bob.SendManyAsync(Enumerable.Range(1, 20).Select(i => $"b{i}"));
        await amy.WaitForAsync(p => p.Messages(group).Count == 40, Long, "40 messages at amy");
        await bob.WaitForAsync(p => p.Messages(group).Count == 40, Long, "40 messages at bob");

        // Template variables first: each lists values (the group chatted in, the peers and the monitor).
        var variables = new Dictionary<string, string>();
        foreach (var variable in dashboard.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            var name = variable.GetProperty("name").GetString()!;
            string[] expected = name == "group" ? [group] : ["amy", "bob", "monitor"];
            var values = new List<string>();
            await Waiting.UntilAsync(async () =>
            {
                values = (await _influx.SeriesAsync(database, variable.GetProperty("query").GetString()!)).SelectMany(s => s.Rows).Select(r => r[1].GetString()!).ToList();
                return expected.All(values.Contains);
            }, Long, $"the template variable ${name} to list {string.Join(", ", expected)}", () => string.Join(", ", values));
            Assert.That(variable.GetProperty("allValue").GetString(), Is.EqualTo(".*"));
            variables[name] = ".*";
        }

        var queries = dashboard.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => (Panel: p.GetProperty("title").GetString()!, Query: Fill(t.GetProperty("query").GetString()!, variables))))
            .ToList();
        Assert.That(queries, Has.Count.GreaterThanOrEqualTo(20));
        Assert.That(queries.Where(q => Variable().IsMatch(q.Query)), Is.Empty, "every variable filled");

        var empty = queries.ToList();
        await Waiting.UntilAsync(async () =>
        {
            var still = new List<(string Panel, string Query)>();
            foreach (var q in empty)
            {
                if (!await HasValuesAsync(database, q.Query))
                {
                    still.Add(q);
                }
            }

            empty = still;
            return empty.Count == 0;
        }, Long, "every panel query to return data", () => string.Join(" | ", empty.Select(q => $"{q.Panel}: {q.Query}")));

        // And a panel filtered to one peer and group, as a user would pick them, still has data.
        var one = Fill(dashboard.GetProperty("panels")[1].GetProperty("targets")[0].GetProperty("query").GetString()!,
            new Dictionary<string, string> { ["group"] = Regex.Escape(group), ["name"] = "bob" });
        Assert.That(await HasValuesAsync(database, one), one);
    }

    private async Task<bool> HasValuesAsync(string database, string query) =>
        (await _influx.SeriesAsync(database, query)).SelectMany(s => s.Rows).Any(r => r.Skip(1).Any(v => v.ValueKind == JsonValueKind.Number));
}
