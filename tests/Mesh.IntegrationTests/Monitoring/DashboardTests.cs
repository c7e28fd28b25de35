using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mesh.Coordinator.Etcd;
using Mesh.Monitoring;
using Mesh.Monitoring.Influx;
using Mesh.Monitoring.Watcher;
using Mesh.Testing;
using Microsoft.Extensions.Logging.Abstractions;
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
        string DashboardUid, string Folder, string For, string Summary);

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
                    Text(rule["noDataState"]), Text(data["A"]["datasourceUid"]), Text(((YamlMappingNode)rule["annotations"])["__dashboardUid__"]), Text(group["folder"]),
                    rule.Children.TryGetValue(new YamlScalarNode("for"), out var holds) ? Text(holds) : "", Text(((YamlMappingNode)rule["annotations"])["summary"])));
            }
        }

        return rules;
    }

    private static string Text(YamlNode node) => ((YamlScalarNode)node).Value ?? "";

    /// <summary>What Grafana does to a query before sending it: time filter, interval, and template variables
    /// (here their All value, as the dashboard opens).</summary>
    private static string Fill(string query, IReadOnlyDictionary<string, string> variables, string timeFilter = "time >= now() - 15m", string interval = "2s")
    {
        var ms = (int.Parse(interval.TrimEnd('s'), CultureInfo.InvariantCulture) * 1000).ToString(CultureInfo.InvariantCulture);
        var filled = query.Replace("$timeFilter", timeFilter, StringComparison.Ordinal)
            .Replace("$__interval_ms", ms, StringComparison.Ordinal)
            .Replace("$__interval", interval, StringComparison.Ordinal);
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
            "mesh monitor not reporting", "A peer suspect for 30 s", "etcd without a leader", "etcd member unhealthy", "etcd leader changing often",
            "etcd database over 80 % of its quota", "A peer's lease expired", "Delivery latency p99 over 2 s", "A peer failing to reach etcd", "Metrics dropped",
            "Outbox not shrinking for 5 minutes",
        }));
        Assert.That(rules.Select(r => r.Uid), Is.Unique);
        Assert.That(rules.Where(r => r.NoData == "Alerting").Select(r => r.Uid), Is.EqualTo(new[] { "mesh-monitor-silent" }),
            "only the monitor's heartbeat fires on missing data; every other rule would otherwise fire under its own name when the monitor dies");
        Assert.That(rules.Where(r => r.NoData != "Alerting").Select(r => r.NoData), Is.All.EqualTo("OK"));
        Assert.That(rules.Where(r => !Regex.IsMatch(r.For, @"^\d+[smh]$")).Select(r => r.Uid), Is.Empty, "a `for` on every rule");
        foreach (var rule in rules)
        {
            // What a summary names comes from the query's GROUP BY: a label the query does not group by is empty.
            var grouped = GroupedBy(rule.Query);
            Assert.That(LabelsNamed(rule.Summary).Where(l => !grouped.Contains(l)), Is.Empty, $"{rule.Uid}: its summary names labels its query groups by");
        }

        // Rules about one peer, member or group name it; only those about the whole mesh or etcd as one do not.
        string[] wholeMesh = ["mesh-monitor-silent", "mesh-etcd-no-leader", "mesh-etcd-leader-changes"];
        Assert.That(rules.Where(r => !wholeMesh.Contains(r.Uid) && (GroupedBy(r.Query).Count == 0 || LabelsNamed(r.Summary).Count == 0)).Select(r => r.Uid), Is.Empty,
            "each rule groups by the tag that names what is wrong, and says it");
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
        var started = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        string[] influx = ["--influx", _influx.Url, "--influx-db", database, "--influx-interval", "1"];
        using var monitor = MonitorProcess.Start(Etcd.Url, influx);
        await monitor.WaitForStateAsync(s => s.GetProperty("etcd").GetArrayLength() == 1, Long, "etcd's health");
        var group = NewGroup("dash");
        // Amy is in a second, quiet group as well: a panel that averaged over groups instead of summing would halve her rate.
        var quiet = NewGroup("quiet");
        var amy = StartPeer("amy", [group, quiet], null, influx);
        var bob = StartPeer("bob", [group], null, influx);
        await amy.WaitReadyAsync(group, Long);
        await amy.WaitReadyAsync(quiet, Long);
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

        var targets = Panels(dashboard)
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => new PanelTarget(p, t.TryGetProperty("alias", out var alias) ? alias.GetString() : null, t.GetProperty("query").GetString()!)))
            .ToList();
        var queries = targets.Select(t => (Panel: t.Title, Query: Fill(t.Query, variables))).ToList();
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

        await UnitsMatchWhatInfluxHoldsAsync(targets, variables, database, started);
    }

    /// <summary>One query of a panel, with the unit it is drawn in (the panel's, or an override for its alias).</summary>
    private sealed record PanelTarget(JsonElement Panel, string? Alias, string Query)
    {
        public string Title => Panel.GetProperty("title").GetString()!;

        public string Unit
        {
            get
            {
                foreach (var over in Panel.GetProperty("fieldConfig").GetProperty("overrides").EnumerateArray())
                {
                    if (over.GetProperty("matcher").GetProperty("options").GetString() == Alias
                        && over.GetProperty("properties").EnumerateArray().FirstOrDefault(p => p.GetProperty("id").GetString() == "unit") is { ValueKind: JsonValueKind.Object } unit)
                    {
                        return unit.GetProperty("value").GetString()!;
                    }
                }

                return Panel.GetProperty("fieldConfig").GetProperty("defaults").TryGetProperty("unit", out var own) ? own.GetString()! : "none";
            }
        }

        public string Measurement => MeasurementRead().Match(Query).Groups[1].Value;
    }

    [GeneratedRegex("FROM \"(mesh_\\w+)\"")]
    private static partial Regex MeasurementRead();

    /// <summary>How a panel turns a counter into a rate: what it counted in each bucket over the bucket's length (Grafana
    /// fills in <c>$__interval_ms</c>), summed over the series it draws as one line.</summary>
    private const string PerSecondRate = "sum(\"count\") * 1000 / $__interval_ms";

    private const string PerMinuteRate = "sum(\"count\") * 60000 / $__interval_ms";

    private static readonly string[] PerSecond = ["cps", "ops", "reqps", "rps", "wps", "eps", "mps"];
    private static readonly string[] PerMinute = ["cpm", "opm", "reqpm", "rpm", "wpm", "epm", "mpm"];

    /// <summary>The Grafana units that fit what an instrument measures, as the panel reads it.</summary>
    private static string[] UnitsFor(string declared, string kind, string query) => kind switch
    {
        "counter" when declared == "By" => ["Bps"],
        "counter" => query.Contains(PerMinuteRate, StringComparison.Ordinal) ? PerMinute : PerSecond,
        _ => declared switch
        {
            "ms" => ["ms"],
            "s" => ["s"],
            "By" => ["bytes"],
            "%" => ["percent"],
            _ => ["none", "short"],
        },
    };

    /// <summary>The values a unit can show truthfully: a fraction for percentunit, percent of one core up to every core.</summary>
    private static (double Min, double Max) RangeOf(string unit) => unit switch
    {
        "percentunit" => (0, 1),
        "percent" => (0, 100.0 * Environment.ProcessorCount),
        _ => (0, double.MaxValue),
    };

    /// <summary>Each panel's unit against what InfluxDB holds for it: the unit the instrument declares (percent for
    /// CPU, milliseconds, bytes; a rate for a counter), the range of the values the chat left, and, for a rate, its sum
    /// over time equal to what the counters counted, whatever the bucket length (Grafana lengthens it with the range).</summary>
    private async Task UnitsMatchWhatInfluxHoldsAsync(List<PanelTarget> targets, Dictionary<string, string> variables, string database, long started)
    {
        var declared = await DeclaredInstrumentsAsync();
        var problems = new List<string>();
        var checkedRates = new HashSet<string>();
        var range = $"time >= {started}ms AND time <= {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}ms";
        foreach (var target in targets)
        {
            if (!declared.TryGetValue(target.Measurement, out var instrument))
            {
                problems.Add($"{target.Title}: {target.Measurement} is no instrument of Mesh");
                continue;
            }

            var fits = UnitsFor(instrument.Unit, instrument.Kind, target.Query);
            var unit = target.Unit;
            if (!fits.Contains(unit) && !(instrument.Unit == "1" && unit == "none"))
            {
                problems.Add($"{target.Title} ({target.Alias}): unit {unit}, but {target.Measurement} is a {instrument.Kind} in '{instrument.Unit}' (fits: {string.Join(", ", fits)})");
            }

            var values = (await _influx.SeriesAsync(database, Fill(target.Query, variables)))
                .SelectMany(s => s.Rows).SelectMany(r => r.Skip(1)).Where(v => v.ValueKind == JsonValueKind.Number).Select(v => v.GetDouble()).ToList();
            var (min, max) = RangeOf(unit);
            if (values.Any(v => v < min || v > max))
            {
                problems.Add($"{target.Title} ({target.Alias}): unit {unit} shows {min}..{max}, InfluxDB holds {values.Min()}..{values.Max()}");
            }

            if (instrument.Kind != "counter")
            {
                continue;
            }

            if (!target.Query.Contains(PerSecondRate, StringComparison.Ordinal) && !target.Query.Contains(PerMinuteRate, StringComparison.Ordinal))
            {
                problems.Add($"{target.Title} ({target.Alias}): a counter read other than as its count per bucket over the bucket's length: {target.Query}");
            }

            // Rate × bucket length, summed over the chat, is what the counters counted: with 2 s and 10 s buckets alike
            // (a sum of counts per bucket would grow with the bucket, an average over groups would shrink).
            var counted = (await _influx.SeriesAsync(database, $"SELECT sum(\"count\") FROM \"{target.Measurement}\" WHERE {range}"))
                .SelectMany(s => s.Rows).Select(r => r[1]).Where(v => v.ValueKind == JsonValueKind.Number).Sum(v => v.GetDouble());
            foreach (var seconds in new[] { 2, 10 })
            {
                var drawn = (await _influx.SeriesAsync(database, Fill(target.Query, variables, range, $"{seconds}s")))
                    .SelectMany(s => s.Rows).Select(r => r[1]).Where(v => v.ValueKind == JsonValueKind.Number).Sum(v => v.GetDouble() * seconds);
                drawn /= PerMinute.Contains(unit) ? 60 : 1;
                if (Math.Abs(drawn - counted) > 0.01 * Math.Max(1, counted))
                {
                    problems.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{target.Title} ({target.Alias}), {seconds} s buckets: draws {drawn:F1} over the chat where the counters counted {counted:F1}"));
                }
            }

            if (counted > 0)
            {
                checkedRates.Add(target.Measurement);
            }
        }

        Assert.That(problems, Is.Empty, () => string.Join(Environment.NewLine, problems));
        Assert.That(checkedRates, Is.SupersetOf(new[] { "mesh_messages_sent", "mesh_messages_received", "mesh_bytes_sent", "mesh_bytes_received", "mesh_monitor_messages" }),
            "the rates were checked on counters that counted something");
    }

    /// <summary>Every instrument Mesh reports (a peer's, the monitor's, the reporter's), by measurement: its declared
    /// unit and whether it is a counter, a histogram or a gauge.</summary>
    private async Task<Dictionary<string, (string Unit, string Kind)>> DeclaredInstrumentsAsync()
    {
        var declared = new Dictionary<string, (string Unit, string Kind)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name == MetricNames.MeterName)
            {
                var type = instrument.GetType().GetGenericTypeDefinition();
                var kind = type == typeof(Counter<>) || type == typeof(ObservableCounter<>) ? "counter" : type == typeof(Histogram<>) ? "histogram" : "gauge";
                lock (declared)
                {
                    declared[MetricNames.Measurement(instrument.Name)] = (instrument.Unit ?? "", kind);
                }
            }
        };
        listener.Start();
        using var peer = new MeshInstruments();
        using var meter = new Meter(MetricNames.MeterName);
        MonitorHeartbeat.Register(meter, TimeProvider.System, DateTimeOffset.UtcNow);
        await using (new MeshWatcher(new EtcdSettings([Etcd.Url]), new MeshView((_, _) => true), meter, NullLogger.Instance))
        {
        }

        using var collector = new MetricsCollector([]);
        await using (new InfluxReporter(new InfluxSettings(new Uri(_influx.Url + "/"), "units", TimeSpan.FromHours(1)), collector, [], meter, NullLogger.Instance))
        {
        }

        lock (declared)
        {
            return new Dictionary<string, (string Unit, string Kind)>(declared);
        }
    }

    [Test]
    public async Task Each_alert_fires_in_the_fault_it_describes_and_none_while_all_is_well()
    {
        var rules = Rules().ToDictionary(r => r.Uid);
        var database = "alerts" + Guid.NewGuid().ToString("N")[..8];
        string[] influx = ["--influx", _influx.Url, "--influx-db", database, "--influx-interval", "1"];
        using var monitor = MonitorProcess.Start(Etcd.Url, influx);
        var group = NewGroup("alerts");
        // Amy keeps at most 100 points while InfluxDB does not take them: an outage of a few seconds drops some.
        var amy = Track(PeerProcess.Start(Etcd.Url, "amy", [group], null, new Dictionary<string, string> { ["MESH_INFLUX_BUFFER"] = "100" }, influx));
        // Bob's lease outlives his freeze: what makes him suspect is what the others see.
        var bob = StartPeer("bob", [group], null, [.. influx, "--lease-ttl", "60"]);
        // Cleo's short lease expires soon after she is killed.
        var cleo = StartPeer("cleo", [group], null, [.. influx, "--lease-ttl", "2"]);
        // Dora reaches etcd through a path of her own, which the test cuts.
        using var doraPath = new TcpProxy(Etcd.ClientPort);
        var dora = Track(PeerProcess.Start(doraPath.Url, "dora", [group], null, influx));
        await amy.WaitReadyAsync(group, Long);
        await bob.WaitReadyAsync(group, Long);
        await cleo.WaitReadyAsync(group, Long);
        await dora.WaitReadyAsync(group, Long);
        await amy.WaitForAsync(p => OnlineNames(p, group).IsSupersetOf(["bob", "cleo", "dora"]), Long, "bob, cleo and dora online");
        await amy.SendManyAsync(Enumerable.Range(1, 10).Select(i => $"m{i}"));
        await bob.WaitForAsync(p => p.Messages(group).Count == 10, Long, "bob has the 10");

        // All is well: each rule's query answers (the window holds figures) and none fires; only a lease expiry has no
        // series before the first one.
        foreach (var rule in rules.Values)
        {
            await WaitForAsync(rule, firing: false, database, needsData: rule.Uid != "mesh-lease-expired");
        }

        Assert.That(await EvaluateAsync(rules["mesh-etcd-db-quota"], database), Is.Not.Null, "the quota query has figures to judge");

        // Bob frozen: suspect, named; what amy sends meanwhile reaches him seconds late once he runs again.
        bob.Signal(PeerProcess.SIGSTOP);
        try
        {
            await amy.SendManyAsync(Enumerable.Range(1, 3).Select(i => $"while bob is frozen {i}"));
            await WaitForAsync(rules["mesh-peer-suspect"], firing: true, database, naming: "bob");
        }
        finally
        {
            bob.Signal(PeerProcess.SIGCONT);
        }

        await bob.WaitForAsync(p => p.Messages(group).Count == 13, Long, "bob has the 3 sent while he was frozen");
        await WaitForAsync(rules["mesh-delivery-slow"], firing: true, database, naming: "bob");
        await WaitForAsync(rules["mesh-peer-suspect"], firing: false, database);

        // Cleo killed: her lease expires, and the alert names her.
        cleo.Kill();
        await WaitForAsync(rules["mesh-lease-expired"], firing: true, database, naming: "cleo");

        // Dora cut from etcd, and no one else: her requests fail (what she sends cannot be stored), and the alert names
        // her alone.
        doraPath.Cut();
        try
        {
            await dora.SendAsync("while cut from etcd");
            var errors = rules["mesh-peer-etcd-errors"];
            await WaitForAsync(errors, firing: true, database, naming: "dora");
            Assert.That((await AnswersAsync(errors, database)).Where(a => Holds(errors, a.Last)).Select(a => a.Tags["name"]), Is.EqualTo(new[] { "dora" }),
                "only the peer cut off");
        }
        finally
        {
            doraPath.Restore();
        }

        // etcd down: no leader, its member unhealthy, peers' requests failing, and what amy sends waits in her outbox,
        // growing with each message, then sitting still.
        var killedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Etcd.Kill();
        try
        {
            await WaitForAsync(rules["mesh-etcd-no-leader"], firing: true, database);
            await WaitForAsync(rules["mesh-etcd-member-unhealthy"], firing: true, database, naming: Etcd.Url);
            long? from = null;
            long last = 0;
            for (var i = 1; i <= 4; i++)
            {
                await amy.SendAsync($"while etcd is down {i}");
                last = await BacklogPointAsync(database, "amy", atLeast: i, since: killedAt);
                from ??= last;
            }

            // Over a window from the first message waiting (as Grafana fills $timeFilter with an absolute range).
            var outbox = rules["mesh-outbox-stuck"];
            Assert.That(await EvaluateAsync(outbox, database, $"time >= {from}ms"), Is.GreaterThan(0), "grew, never drained: firing");
            // Then the backlog sits still: nothing more is sent, nothing is written. A later report at the same backlog,
            // and the window from the last message on: stuck, and firing as well.
            await BacklogPointAsync(database, "amy", atLeast: 4, since: last + 1);
            Assert.That(await EvaluateAsync(outbox, database, $"time >= {last}ms"), Is.GreaterThan(0), "stuck, never drained: firing");
            // Her history writes fail meanwhile, and the alert names her.
            await WaitForAsync(rules["mesh-peer-etcd-errors"], firing: true, database, naming: "amy");
        }
        finally
        {
            await Etcd.StartAsync();
        }

        await WaitForAsync(rules["mesh-etcd-no-leader"], firing: false, database);
        await WaitForAsync(rules["mesh-etcd-member-unhealthy"], firing: false, database);
        await WaitForAsync(rules["mesh-outbox-stuck"], firing: false, database);

        // InfluxDB down for longer than amy's 100 points last: she drops the oldest, says so, and counts them.
        _influx.Kill();
        try
        {
            await Waiting.UntilAsync(() => File.ReadAllText(amy.StderrPath).Contains("metrics buffer full", StringComparison.Ordinal), Long,
                "amy to say that she drops metrics", amy.Tail);
        }
        finally
        {
            await _influx.StartAsync();
        }

        await WaitForAsync(rules["mesh-metrics-dropped"], firing: true, database, naming: "amy");

        // A database over 80 % of the quota the monitor is told etcd runs with (1 MiB, with 1 MiB written).
        var quotaDatabase = database + "q";
        using (MonitorProcess.Start(Etcd.Url, "--influx", _influx.Url, "--influx-db", quotaDatabase, "--influx-interval", "1", "--etcd-quota", "1MiB"))
        {
            var filler = new string('x', 100_000);
            for (var i = 0; i < 11; i++)
            {
                Assert.That(Etcd.Etcdctl("put", $"/test/filler/{i}", filler).ExitCode, Is.Zero);
            }

            await WaitForAsync(rules["mesh-etcd-db-quota"], firing: true, quotaDatabase);
            Assert.That(await EvaluateAsync(rules["mesh-etcd-db-quota"], database), Is.LessThan(80), "against etcd's real 2 GiB, the same database is fine");
        }

        // The monitor killed: its heartbeat stops, and over a window after the kill the one rule that fires is the one
        // that says so; each rule on the monitor's other figures is OK without them, rather than firing under its name.
        await WaitForAsync(rules["mesh-monitor-silent"], firing: false, database);
        var monitorKilledAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        monitor.Kill();
        var after = $"time > {monitorKilledAt}ms";
        Assert.That(Fires(rules["mesh-monitor-silent"], await AnswersAsync(rules["mesh-monitor-silent"], database, after)), Is.True, "mesh monitor not reporting: firing");
        var firing = new List<string>();
        foreach (var rule in rules.Values.Where(r => r.Uid != "mesh-monitor-silent"
            && (r.Query.Contains("mesh_monitor_", StringComparison.Ordinal) || r.Query.Contains("mesh_etcd_member_", StringComparison.Ordinal))))
        {
            if (Fires(rule, await AnswersAsync(rule, database, after)))
            {
                firing.Add(rule.Title);
            }
        }

        Assert.That(firing, Is.Empty, "no rule on the monitor's figures fires for want of them");
    }

    [Test]
    public async Task The_etcd_alerts_name_the_member_that_fails_and_count_the_elections_of_a_three_member_cluster()
    {
        var rules = Rules().ToDictionary(r => r.Uid);
        var database = "cluster" + Guid.NewGuid().ToString("N")[..8];
        using var cluster = await EtcdCluster.StartAsync(3);
        using var monitor = MonitorProcess.Start(cluster.Endpoints, "--influx", _influx.Url, "--influx-db", database, "--influx-interval", "1");
        var leader = cluster.Leader();
        await monitor.WaitForStateAsync(s => s.GetProperty("etcd").EnumerateArray().Count(e => e.GetProperty("healthy").GetBoolean()) == 3
            && LeaderShown(s) == leader.Url, Long, "3 healthy members, the leader known");
        await WaitForAsync(rules["mesh-etcd-member-unhealthy"], firing: false, database);
        await WaitForAsync(rules["mesh-etcd-leader-changes"], firing: false, database);

        // Four elections in a row (the lead handed to a follower each time, seen by the monitor each time): more than
        // the rule takes in an hour.
        for (var i = 0; i < 4; i++)
        {
            var next = cluster.AnyFollower();
            var (code, output) = cluster.Leader().Etcdctl("move-leader", MemberId(next));
            Assert.That(code, Is.Zero, output);
            await monitor.WaitForStateAsync(s => LeaderShown(s) == next.Url, Long, $"{next.Url} leading");
        }

        await WaitForAsync(rules["mesh-etcd-leader-changes"], firing: true, database);

        // A follower stopped: the quorum holds (a leader, no 'without a leader'), and the alert names the member.
        var follower = cluster.AnyFollower();
        follower.Kill();
        await WaitForAsync(rules["mesh-etcd-member-unhealthy"], firing: true, database, naming: follower.Url);
        var answers = await AnswersAsync(rules["mesh-etcd-member-unhealthy"], database);
        Assert.That(answers.Where(a => Holds(rules["mesh-etcd-member-unhealthy"], a.Last)).Select(a => a.Tags["endpoint"]), Is.EqualTo(new[] { follower.Url }),
            "only the stopped member");
        await WaitForAsync(rules["mesh-etcd-no-leader"], firing: false, database);
    }

    private static string? LeaderShown(JsonElement state) =>
        state.GetProperty("etcd").EnumerateArray().Where(e => e.GetProperty("healthy").GetBoolean() && e.GetProperty("leader").GetBoolean())
            .Select(e => e.GetProperty("endpoint").GetString()).FirstOrDefault();

    /// <summary>A member's id in hex, as etcdctl move-leader takes it.</summary>
    private static string MemberId(EtcdProcess member)
    {
        var (code, output) = member.Etcdctl("endpoint", "status", "-w", "json");
        Assert.That(code, Is.Zero, output);
        using var status = JsonDocument.Parse(output);
        return status.RootElement[0].GetProperty("Status").GetProperty("header").GetProperty("member_id").GetUInt64().ToString("x", CultureInfo.InvariantCulture);
    }

    /// <summary>One series of a rule's answer: its tags (the alert's labels) and its last value (what B reduces it to).</summary>
    private sealed record Answer(IReadOnlyDictionary<string, string> Tags, double Last);

    private async Task<List<Answer>> AnswersAsync(Rule rule, string database, string? timeFilter = null)
    {
        var query = Fill(rule.Query, new Dictionary<string, string>(), timeFilter ?? $"time >= now() - {rule.WindowSeconds}s");
        return (await _influx.SeriesAsync(database, query))
            .Select(s => (s.Tags, Last: s.Rows.Select(r => r.Skip(1).FirstOrDefault(v => v.ValueKind == JsonValueKind.Number)).LastOrDefault(v => v.ValueKind == JsonValueKind.Number)))
            .Where(s => s.Last.ValueKind == JsonValueKind.Number).Select(s => new Answer(s.Tags, s.Last.GetDouble())).ToList();
    }

    /// <summary>The rule's reduced value (the worst last value over its series), or null when its query finds nothing.</summary>
    private async Task<double?> EvaluateAsync(Rule rule, string database, string? timeFilter = null)
    {
        var lasts = (await AnswersAsync(rule, database, timeFilter)).Select(a => a.Last).ToList();
        return lasts.Count == 0 ? null : rule.Evaluator == "lt" ? lasts.Min() : lasts.Max();
    }

    private static bool Holds(Rule rule, double value) => rule.Evaluator switch
    {
        "gt" => value > rule.Limit,
        "lt" => value < rule.Limit,
        _ => throw new InvalidOperationException($"{rule.Uid}: evaluator {rule.Evaluator} not understood by this test"),
    };

    private static bool Fires(Rule rule, IReadOnlyList<Answer> answers) =>
        answers.Count == 0 ? rule.NoData == "Alerting" : answers.Any(a => Holds(rule, a.Last));

    /// <summary>Waits until the rule fires (for a series tagged with <paramref name="naming"/>, whose tags fill every
    /// label its summary names) or does not (with figures to judge, when <paramref name="needsData"/>).</summary>
    private async Task WaitForAsync(Rule rule, bool firing, string database, string? naming = null, bool needsData = true)
    {
        List<Answer> answers = [];
        await Waiting.UntilAsync(async () =>
        {
            answers = await AnswersAsync(rule, database);
            if (!firing)
            {
                return !Fires(rule, answers) && (answers.Count > 0 || !needsData);
            }

            return Fires(rule, answers) && (naming is null || answers.Any(a => Holds(rule, a.Last) && a.Tags.Values.Contains(naming)
                && LabelsNamed(rule.Summary).All(l => a.Tags.TryGetValue(l, out var v) && v.Length > 0)));
        }, Long, $"'{rule.Title}' {(firing ? "firing" : "not firing")}{(naming is null ? "" : $" for {naming}")}",
            () => "answers: " + string.Join("; ", answers.Select(a => $"{string.Join(",", a.Tags.Select(t => $"{t.Key}={t.Value}"))} {a.Last}")));
    }

    /// <summary>The labels a summary names (<c>{{ $labels.peer }}</c>).</summary>
    private static List<string> LabelsNamed(string summary) => [.. LabelReference().Matches(summary).Select(m => m.Groups[1].Value).Distinct()];

    [GeneratedRegex(@"\$labels\.(\w+)")]
    private static partial Regex LabelReference();

    /// <summary>The tags a query groups by (not time).</summary>
    private static List<string> GroupedBy(string query)
    {
        var at = query.LastIndexOf("GROUP BY", StringComparison.Ordinal);
        return at < 0 ? [] : [.. Regex.Matches(query[at..], "\"(\\w+)\"").Select(m => m.Groups[1].Value)];
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
