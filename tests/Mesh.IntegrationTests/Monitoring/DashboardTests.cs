using System.Text.Json;
using System.Text.RegularExpressions;
using Mesh.Testing;
using YamlDotNet.RepresentationModel;

namespace Mesh.IntegrationTests.Monitoring;

/// <summary>The Grafana dashboard and alert rules shipped in deploy/ work against real data: after a short chat
/// reported by real peers and mesh monitor to a real InfluxDB, every query of every panel and annotation returns
/// values; every alert rule's query fires in the fault it describes and not while all is well.</summary>
[Category("Integration")]
public sealed partial class DashboardTests : EtcdFixture
{
    private InfluxProcess _influx = null!;

    [OneTimeSetUp]
    public async Task StartInflux() => _influx = await InfluxProcess.StartNewAsync();

    [OneTimeTearDown]
    public void StopInflux() => _influx?.Dispose();

    private static string Shipped(params string[] path) => Path.Combine([AppContext.BaseDirectory, .. path]);

    private static JsonElement Dashboard() =>
        JsonDocument.Parse(File.ReadAllText(Shipped("dashboards", "mesh-health.json"))).RootElement.Clone();

    /// <summary>Every panel that draws (rows only group them).</summary>
    private static IEnumerable<JsonElement> Panels(JsonElement dashboard) =>
        dashboard.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.TryGetProperty("panels", out var inner) ? inner.EnumerateArray().Prepend(p) : [p])
            .Where(p => p.GetProperty("type").GetString() != "row");

    private static IEnumerable<JsonElement> Annotations(JsonElement dashboard) =>
        dashboard.GetProperty("annotations").GetProperty("list").EnumerateArray().Where(a => !a.TryGetProperty("builtIn", out _));

    /// <summary>One provisioned alert rule: its query (A), the window it is run over, and its threshold on the last value.</summary>
    private sealed record Rule(string Uid, string Title, string Query, int WindowSeconds, string Evaluator, double Limit, string NoData, string DatasourceUid,
        string DashboardUid, string Folder);

    private static List<Rule> Rules()
    {
        var yaml = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(Shipped("grafana", "provisioning", "alerting", "mesh-alerts.yml"))))
        {
            yaml.Load(reader);
        }

        var rules = new List<Rule>();
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        foreach (YamlMappingNode group in (YamlSequenceNode)root["groups"])
        {
            foreach (YamlMappingNode rule in (YamlSequenceNode)group["rules"])
            {
                var data = ((YamlSequenceNode)rule["data"]).Cast<YamlMappingNode>().ToDictionary(d => Text(d["refId"]));
                Assert.That(Text(rule["condition"]), Is.EqualTo("C"));
                Assert.That(Text(((YamlMappingNode)data["B"]["model"])["expression"]), Is.EqualTo("A"));
                Assert.That(Text(((YamlMappingNode)data["B"]["model"])["reducer"]), Is.EqualTo("last"));
                Assert.That(Text(((YamlMappingNode)data["C"]["model"])["expression"]), Is.EqualTo("B"));
                Assert.That(new[] { Text(data["B"]["datasourceUid"]), Text(data["C"]["datasourceUid"]) }, Is.All.EqualTo("__expr__"));
                var evaluator = (YamlMappingNode)((YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)data["C"]["model"])["conditions"])[0])["evaluator"];
                rules.Add(new Rule(Text(rule["uid"]), Text(rule["title"]), Text(((YamlMappingNode)data["A"]["model"])["query"]),
                    int.Parse(Text(((YamlMappingNode)data["A"]["relativeTimeRange"])["from"]), System.Globalization.CultureInfo.InvariantCulture),
                    Text(evaluator["type"]), double.Parse(Text(((YamlSequenceNode)evaluator["params"])[0]), System.Globalization.CultureInfo.InvariantCulture),
                    Text(rule["noDataState"]), Text(data["A"]["datasourceUid"]), Text(((YamlMappingNode)rule["annotations"])["__dashboardUid__"]), Text(group["folder"])));
            }
        }

        return rules;
    }

    private static string Text(YamlNode node) => ((YamlScalarNode)node).Value ?? "";

    /// <summary>What Grafana does to a query before sending it: time filter, interval, and template variables
    /// (here their All value, as the dashboard opens).</summary>
    private static string Fill(string query, IReadOnlyDictionary<string, string> variables, string timeFilter = "time >= now() - 15m")
    {
        var filled = query.Replace("$timeFilter", timeFilter, StringComparison.Ordinal)
            .Replace("$__interval", "2s", StringComparison.Ordinal);
        return Variable().Replace(filled, m => variables.TryGetValue(m.Groups[1].Value, out var value) ? value : m.Value);
    }

    [GeneratedRegex(@"\$(\w+)")]
    private static partial Regex Variable();

    [Test]
    public void The_dashboard_and_alert_rules_use_the_provisioned_datasource_folder_and_uids()
    {
        var datasource = File.ReadAllText(Shipped("grafana", "provisioning", "datasources", "mesh-influxdb.yml"));
        var provider = File.ReadAllText(Shipped("grafana", "provisioning", "dashboards", "mesh.yml"));
        var compose = File.ReadAllText(Shipped("grafana", "docker-compose.yml"));
        Assert.That(datasource, Does.Contain("uid: mesh-influxdb").And.Contain("dbName: mesh").And.Contain("type: influxdb"));
        var uid = Regex.Match(datasource, @"uid: (\S+)").Groups[1].Value;
        var folder = Regex.Match(provider, @"folder: (\S+)").Groups[1].Value;
        Assert.That(provider, Does.Contain("path: /var/lib/grafana/dashboards"));
        Assert.That(compose, Does.Contain("./grafana/dashboards:/var/lib/grafana/dashboards").And.Contain("./grafana/provisioning:/etc/grafana/provisioning"),
            "the datasource, dashboards and alerting folders all mounted where Grafana reads them");

        var dashboard = Dashboard();
        var uids = Panels(dashboard)
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("datasource")).Append(p.GetProperty("datasource")))
            .Concat(dashboard.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v => v.GetProperty("datasource")))
            .Concat(Annotations(dashboard).Select(a => a.GetProperty("datasource")))
            .Select(d => d.GetProperty("uid").GetString()).Distinct();
        Assert.That(uids, Is.EqualTo(new[] { uid }), "one datasource, the provisioned one, everywhere");
        Assert.That(dashboard.GetProperty("panels").EnumerateArray().Select(p => p.GetProperty("id").GetInt32()), Is.Unique);

        var rules = Rules();
        Assert.That(rules.Select(r => r.Title), Is.EquivalentTo(new[]
        {
            "A peer suspect for 30 s", "etcd without a leader", "etcd database over 80 % of its quota", "Outbox growing for 5 minutes",
        }));
        Assert.That(rules.Select(r => r.Uid), Is.Unique);
        Assert.That(rules.Select(r => r.DatasourceUid), Is.All.EqualTo(uid));
        Assert.That(rules.Select(r => r.DashboardUid), Is.All.EqualTo(dashboard.GetProperty("uid").GetString()));
        Assert.That(rules.Select(r => r.Folder), Is.All.EqualTo(folder), "in the dashboard's folder");
    }

    [Test]
    public void The_dashboard_opens_on_the_current_state_with_rows_per_concern_and_a_row_per_peer()
    {
        var dashboard = Dashboard();
        var top = dashboard.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("gridPos").GetProperty("y").GetInt32() == 0).ToList();
        Assert.That(top.Select(p => p.GetProperty("title").GetString()), Is.EqualTo(new[]
        {
            "Peers online", "Suspect peers", "Links down", "etcd members", "etcd database of quota", "Outbox backlog",
        }));
        Assert.That(top.Select(p => p.GetProperty("type").GetString()), Is.All.EqualTo("stat"));
        Assert.That(top.Select(p => p.GetProperty("fieldConfig").GetProperty("defaults").GetProperty("thresholds").GetProperty("steps").GetArrayLength()),
            Is.All.GreaterThanOrEqualTo(2), "each with thresholds that colour it");
        Assert.That(top.Sum(p => p.GetProperty("gridPos").GetProperty("w").GetInt32()), Is.EqualTo(24), "one row across");

        var rows = dashboard.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("type").GetString() == "row").ToList();
        Assert.That(rows.Select(r => r.GetProperty("title").GetString()), Is.SupersetOf(new[] { "Messages", "Links", "etcd", "History and presence", "Processes" }));
        Assert.That(rows.Where(r => r.TryGetProperty("repeat", out var by) && by.GetString() == "name").Select(r => r.GetProperty("title").GetString()),
            Is.EqualTo(new[] { "Peer $name" }), "one row per peer");
        Assert.That(Panels(dashboard).Where(p => p.GetProperty("title").GetString()!.StartsWith("Member health") || p.GetProperty("title").GetString() == "Leader")
            .Select(p => p.GetProperty("type").GetString()), Is.All.EqualTo("state-timeline"), "etcd health and leader as states, not 0/1 lines");
        Assert.That(Panels(dashboard).SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("query").GetString()),
            Has.None.Contains("mesh_links_known"), "no second line per peer for links");
        Assert.That(Annotations(dashboard).Select(a => a.GetProperty("query").GetString()),
            Has.Some.Contains("'lease_expired'").And.Some.Contains("'etcd_leader'"));
    }

    [Test]
    public async Task Every_panel_and_annotation_query_of_the_dashboard_returns_data_after_a_short_chat()
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
        // A peer gone without leaving: a lease expiry to annotate.
        var cleo = StartPeer("cleo", [group], null, [.. influx, "--lease-ttl", "2"]);
        await cleo.WaitReadyAsync(group, Long);
        await monitor.WaitForStateAsync(s => s.GetProperty("peers").EnumerateArray().Any(p => p.GetProperty("name").GetString() == "cleo"), Long, "cleo seen");
        cleo.Kill();

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

        var queries = Panels(dashboard)
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => (Panel: p.GetProperty("title").GetString()!, Query: Fill(t.GetProperty("query").GetString()!, variables))))
            .ToList();
        Assert.That(queries, Has.Count.GreaterThanOrEqualTo(30));
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

        // The annotations: the lease expiry and the leader as the monitor first saw it, as text.
        foreach (var annotation in Annotations(dashboard).Where(a => a.GetProperty("enable").GetBoolean()))
        {
            var query = Fill(annotation.GetProperty("query").GetString()!, variables);
            var texts = new List<string>();
            await Waiting.UntilAsync(async () =>
            {
                texts = (await _influx.SeriesAsync(database, query)).SelectMany(s => s.Rows).Select(r => r[1].GetString()!).ToList();
                return texts.Count > 0;
            }, Long, $"the annotation '{annotation.GetProperty("name").GetString()}' to have events", () => query);
            Assert.That(texts, Is.All.Contains(annotation.GetProperty("name").GetString() == "Lease expiries" ? "failed: its lease expired" : "is the leader now"));
        }

        // A repeated row's panels, for one peer as Grafana fills them, still have data; so does a panel filtered to one group.
        var roundTrips = Panels(dashboard).Single(p => p.GetProperty("title").GetString() == "Round trip to each member");
        var forBob = Fill(roundTrips.GetProperty("targets")[0].GetProperty("query").GetString()!, new Dictionary<string, string> { ["name"] = "bob", ["group"] = ".*" });
        await Waiting.UntilAsync(() => HasValuesAsync(database, forBob), Long, "bob's round trips", () => forBob);
        var sent = Panels(dashboard).Single(p => p.GetProperty("title").GetString() == "Messages sent per second");
        var one = Fill(sent.GetProperty("targets")[0].GetProperty("query").GetString()!, new Dictionary<string, string> { ["group"] = Regex.Escape(group), ["name"] = "bob" });
        Assert.That(await HasValuesAsync(database, one), one);
    }

    [Test]
    public async Task Each_alert_fires_in_the_fault_it_describes_and_none_while_all_is_well()
    {
        var rules = Rules().ToDictionary(r => r.Uid);
        var database = "alerts" + Guid.NewGuid().ToString("N")[..8];
        string[] influx = ["--influx", _influx.Url, "--influx-db", database, "--influx-interval", "1"];
        using var monitor = MonitorProcess.Start(Etcd.Url, influx);
        var group = NewGroup("alerts");
        var amy = StartPeer("amy", [group], null, influx);
        // Bob's lease outlives his freeze: what makes him suspect is what the others see.
        var bob = StartPeer("bob", [group], null, [.. influx, "--lease-ttl", "60"]);
        await amy.WaitReadyAsync(group, Long);
        await bob.WaitReadyAsync(group, Long);
        await amy.WaitForAsync(p => OnlineNames(p, group).Contains("bob"), Long, "bob online");
        await amy.SendManyAsync(Enumerable.Range(1, 10).Select(i => $"m{i}"));
        await bob.WaitForAsync(p => p.Messages(group).Count == 10, Long, "bob has the 10");

        // All is well: each rule's query answers (the window holds figures) and none fires.
        await WaitForAsync(rules["mesh-peer-suspect"], firing: false, database);
        await WaitForAsync(rules["mesh-etcd-no-leader"], firing: false, database);
        await WaitForAsync(rules["mesh-etcd-db-quota"], firing: false, database);
        await WaitForAsync(rules["mesh-outbox-growing"], firing: false, database);
        Assert.That(await EvaluateAsync(rules["mesh-etcd-db-quota"], database), Is.Not.Null, "the quota query has figures to judge");

        bob.Signal(PeerProcess.SIGSTOP);
        try
        {
            await WaitForAsync(rules["mesh-peer-suspect"], firing: true, database);
        }
        finally
        {
            bob.Signal(PeerProcess.SIGCONT);
        }

        await WaitForAsync(rules["mesh-peer-suspect"], firing: false, database);

        // etcd down: no leader, and what amy sends waits in her outbox, growing with each message.
        var killedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Etcd.Kill();
        try
        {
            await WaitForAsync(rules["mesh-etcd-no-leader"], firing: true, database);
            long? from = null;
            for (var i = 1; i <= 4; i++)
            {
                await amy.SendAsync($"while etcd is down {i}");
                var point = await BacklogPointAsync(database, "amy", atLeast: i, since: killedAt);
                from ??= point;
            }

            // Over a window from the first message waiting (as Grafana fills $timeFilter with an absolute range).
            var outbox = rules["mesh-outbox-growing"];
            Assert.That(await EvaluateAsync(outbox, database, $"time >= {from}ms"), Is.GreaterThan(0), "grew, never drained: firing");
        }
        finally
        {
            await Etcd.StartAsync();
        }

        await WaitForAsync(rules["mesh-etcd-no-leader"], firing: false, database);
        await WaitForAsync(rules["mesh-outbox-growing"], firing: false, database);

        // A database over 80 % of the quota the monitor is told etcd runs with (1 MiB, with 1 MiB written).
        var quotaDatabase = database + "q";
        using var strict = MonitorProcess.Start(Etcd.Url, "--influx", _influx.Url, "--influx-db", quotaDatabase, "--influx-interval", "1", "--etcd-quota", "1MiB");
        var filler = new string('x', 100_000);
        for (var i = 0; i < 11; i++)
        {
            Assert.That(Etcd.Etcdctl("put", $"/test/filler/{i}", filler).ExitCode, Is.Zero);
        }

        await WaitForAsync(rules["mesh-etcd-db-quota"], firing: true, quotaDatabase);
        Assert.That(await EvaluateAsync(rules["mesh-etcd-db-quota"], database), Is.LessThan(80), "against etcd's real 2 GiB, the same database is fine");
    }

    /// <summary>The rule's reduced value (the largest last value over its series), or null when its query finds nothing.</summary>
    private async Task<double?> EvaluateAsync(Rule rule, string database, string? timeFilter = null)
    {
        var query = Fill(rule.Query, new Dictionary<string, string>(), timeFilter ?? $"time >= now() - {rule.WindowSeconds}s");
        var lasts = (await _influx.SeriesAsync(database, query))
            .Select(s => s.Rows.Select(r => r.Skip(1).FirstOrDefault(v => v.ValueKind == JsonValueKind.Number)).LastOrDefault(v => v.ValueKind == JsonValueKind.Number))
            .Where(v => v.ValueKind == JsonValueKind.Number).Select(v => v.GetDouble()).ToList();
        return lasts.Count == 0 ? null : rule.Evaluator == "lt" ? lasts.Min() : lasts.Max();
    }

    private static bool Fires(Rule rule, double? value) => value switch
    {
        null => rule.NoData == "Alerting",
        { } v => rule.Evaluator switch
        {
            "gt" => v > rule.Limit,
            "lt" => v < rule.Limit,
            _ => throw new InvalidOperationException($"{rule.Uid}: evaluator {rule.Evaluator} not understood by this test"),
        },
    };

    private async Task WaitForAsync(Rule rule, bool firing, string database)
    {
        double? last = null;
        await Waiting.UntilAsync(async () =>
        {
            last = await EvaluateAsync(rule, database);
            return Fires(rule, last) == firing && (firing || last is not null || rule.NoData == "OK");
        }, Long, $"'{rule.Title}' {(firing ? "firing" : "not firing")}", () => $"last value {last?.ToString() ?? "none"}");
    }

    /// <summary>The time (ms) of the first point since <paramref name="since"/> at which a peer's outbox backlog reached <paramref name="atLeast"/>.</summary>
    private async Task<long> BacklogPointAsync(string database, string name, int atLeast, long since)
    {
        long at = 0;
        await Waiting.UntilAsync(async () =>
        {
            var rows = (await _influx.SeriesAsync(database, $"SELECT \"value\" FROM \"mesh_outbox_backlog\" WHERE \"name\" = '{name}' AND \"value\" >= {atLeast} AND time >= {since}ms LIMIT 1"))
                .SelectMany(s => s.Rows).ToList();
            at = rows.Count > 0 ? rows[0][0].GetInt64() : 0;
            return rows.Count > 0;
        }, Long, $"{name}'s outbox at {atLeast}");
        return at;
    }

    private async Task<bool> HasValuesAsync(string database, string query) =>
        (await _influx.SeriesAsync(database, query)).SelectMany(s => s.Rows).Any(r => r.Skip(1).Any(v => v.ValueKind == JsonValueKind.Number));
}
