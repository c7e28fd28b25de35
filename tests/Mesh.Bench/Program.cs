using System.Globalization;
using System.Text.Json;
using Mesh.Bench;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.History;
using Mesh.Testing;

// The benchmark suite: the ceilings of the stack, then Mesh's scenarios, each figure beside its ceiling.
//   deploy/bench.sh               (everything, about 12 minutes; the peer precompiled as deploy/mesh.sh runs it)
//   deploy/bench.sh --quick       (smaller sizes, about 1 minute)
//   --only ceilings|throughput|latency|fanout|frozen|join|storage|retention|idle|memory|scale|members|rotation   --no-docs (write neither docs/performance.md nor its JSON)
// The peer measured is MESH_DLL (set by deploy/bench.sh), or the mesh.dll built next to this program.
var quick = args.Contains("--quick");
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
bool Runs(string part) => only is null || only == part || part == "ceilings";
var root = RepositoryRoot();
var figures = new List<Figure>();
var extra = new Dictionary<string, object>();

Console.WriteLine($"mesh benchmark: {Environment.ProcessorCount} cores, {(quick ? "quick" : "full")} sizes, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; peer {MeshCli.Dll}");
using var etcd = await EtcdProcess.StartAsync("bench");
using var connection = new EtcdConnection([etcd.Url]);

// Ceilings.
var netmq = Stats.Median(Enumerable.Range(0, 3).Select(_ => Ceilings.NetMqThroughput(quick ? 50_000 : 200_000)).ToList());
var (rawP50, rawP99) = Ceilings.NetMqOneWayLatency(quick ? 2_000 : 10_000);
var singlePuts = await Ceilings.EtcdSinglePuts(connection, quick ? 300 : 1_000);
var batchedPuts = await Ceilings.EtcdBatchedPuts(connection, quick ? 20_000 : 100_000);
var rangeRead = await Ceilings.EtcdRangeRead(connection, "/ceiling/batched/");
var processStart = Ceilings.ProcessStart();
Print($"ceilings: NetMQ Curve PUB/SUB {netmq:N0} msg/s, one-way p50 {rawP50:F3} ms p99 {rawP99:F3} ms; etcd single puts {singlePuts:N0}/s, "
    + $"100-put transactions {batchedPuts:N0} puts/s, range read of {(quick ? 20_000 : 100_000):N0} keys {rangeRead:F2} s; mesh process start {processStart:F2} s");
extra["ceilings"] = new
{
    netmqMsgPerSec = netmq,
    netmqOneWayP50Ms = rawP50,
    netmqOneWayP99Ms = rawP99,
    etcdSinglePutsPerSec = singlePuts,
    etcdBatchedPutsPerSec = batchedPuts,
    etcdRangeReadSeconds = rangeRead,
    rangeReadKeys = quick ? 20_000 : 100_000,
    processStartSeconds = processStart
};

if (Runs("throughput"))
{
    var runs = new List<(double Delivered, double Persisted)>();
    for (var run = 0; run < (quick ? 1 : 3); run++)
    {
        runs.Add(await Scenarios.ThroughputAsync(etcd, quick ? 5_000 : 20_000, 4));
        Print($"throughput run {run + 1}: delivered to all 4 at {runs[^1].Delivered:N0} msg/s, persisted at {runs[^1].Persisted:N0} msg/s");
    }

    var delivered = Stats.Median(runs.Select(r => r.Delivered).ToList());
    var persisted = Stats.Median(runs.Select(r => r.Persisted).ToList());
    figures.Add(new Figure("group throughput, delivered to all 4 receivers", delivered, "msg/s", "≥ 30,000 msg/s", 30_000, true, "NetMQ Curve 1→1", netmq));
    figures.Add(new Figure("group throughput, persisted in history", persisted, "msg/s", "≥ 25,000 msg/s", 25_000, true, "etcd 100-put txns", batchedPuts));
}

if (Runs("latency"))
{
    var samples = await Scenarios.LatencyAsync(etcd, 8, 1_000, TimeSpan.FromSeconds(quick ? 3 : 10));
    var p50 = Stats.Percentile(samples, 0.50);
    var p99 = Stats.Percentile(samples, 0.99);
    Print($"latency, 8 peers at 1,000 msg/s in all: {samples.Count:N0} deliveries, p50 {p50:F2} ms, p99 {p99:F2} ms, max {samples.Max():F1} ms");
    figures.Add(new Figure("latency p50, 8 peers at 1,000 msg/s", p50, "ms", "(no target)", null, false, "NetMQ one-way p50", rawP50));
    figures.Add(new Figure("latency p99, 8 peers at 1,000 msg/s", p99, "ms", "≤ 10 ms", 10, false, "NetMQ one-way p99", rawP99));

    // The same group at a rate the machine sustains: the length of the path rather than the backlog.
    var light = await Scenarios.LatencyAsync(etcd, 8, 100, TimeSpan.FromSeconds(quick ? 3 : 10));
    Print($"latency, 8 peers at 100 msg/s in all: {light.Count:N0} deliveries, p50 {Stats.Percentile(light, 0.5):F2} ms, p99 {Stats.Percentile(light, 0.99):F2} ms");
    figures.Add(new Figure("latency p50, 8 peers at 100 msg/s", Stats.Percentile(light, 0.5), "ms", "(no target)", null, false, "NetMQ one-way p50", rawP50));
    figures.Add(new Figure("latency p99, 8 peers at 100 msg/s", Stats.Percentile(light, 0.99), "ms", "≤ 5 ms", 5, false, "NetMQ one-way p99", rawP99));

    var first = await Scenarios.FirstSecondAsync(etcd, 8, 100);
    Print($"latency, 8 peers, messages sent in the first second after ready: {first.Count:N0} deliveries, p50 {Stats.Percentile(first, 0.5):F2} ms, p99 {Stats.Percentile(first, 0.99):F2} ms");
    figures.Add(new Figure("latency p99, first second after ready (8 peers, 100 msg/s)", Stats.Percentile(first, 0.99), "ms", "≤ 10 ms", 10, false, "NetMQ one-way p99", rawP99));
}

if (Runs("fanout"))
{
    var (fan, senderUs, receiverUs) = await Scenarios.FanOutCostAsync(etcd, 8, 1_000, TimeSpan.FromSeconds(quick ? 3 : 10));
    Print($"fan-out, 1 sender → 8 receivers at 1,000 msg/s: {fan.Count:N0} deliveries, p50 {Stats.Percentile(fan, 0.5):F2} ms, p99 {Stats.Percentile(fan, 0.99):F2} ms, max {fan.Max():F1} ms; "
        + $"CPU per message: sender {senderUs:F0} µs, each receiver {receiverUs:F0} µs (median)");
    figures.Add(new Figure("1 → 8 at 1,000 msg/s: latency p50 (Zyre 0.26-0.28 ms)", Stats.Percentile(fan, 0.5), "ms", "≤ 0.5 ms", 0.5, false, "NetMQ one-way p50", rawP50));
    figures.Add(new Figure("1 → 8 at 1,000 msg/s: latency p99 (Zyre 0.45-0.56 ms)", Stats.Percentile(fan, 0.99), "ms", "≤ 2 ms", 2, false, "NetMQ one-way p99", rawP99));
    figures.Add(new Figure("1 → 8 at 1,000 msg/s: CPU per message, sender (Zyre 152 µs)", senderUs, "µs", "(no target)", null, false));
    figures.Add(new Figure("1 → 8 at 1,000 msg/s: CPU per message, each receiver (Zyre 41-48 µs)", receiverUs, "µs", "≤ 60 µs", 60, false));
}

if (Runs("frozen"))
{
    var normal = await Scenarios.LatencyAsync(etcd, 8, 100, TimeSpan.FromSeconds(quick ? 3 : 6));
    var frozen = await Scenarios.FrozenEtcdAsync(etcd, 8, 100, TimeSpan.FromSeconds(quick ? 3 : 6));
    Print($"etcd frozen (SIGSTOP) while a member types /join and /leave and a newcomer starts, 8 peers at 100 msg/s: p50 {Stats.Percentile(frozen, 0.5):F2} ms, "
        + $"p99 {Stats.Percentile(frozen, 0.99):F2} ms, max {frozen.Max():F1} ms; the same with etcd answering: p99 {Stats.Percentile(normal, 0.99):F2} ms");
    figures.Add(new Figure("etcd frozen, /join, /leave and a newcomer meanwhile: live latency p99", Stats.Percentile(frozen, 0.99), "ms",
        "within the normal p99", Math.Max(5, Stats.Percentile(normal, 0.99)), false, "the same, etcd answering", Stats.Percentile(normal, 0.99)));
}

if (Runs("join"))
{
    var history = quick ? 20_000 : 100_000;
    var (bursts, peak) = await Scenarios.JoinWithHistoryMeasuredAsync(etcd, history, 64);
    var singles = await Scenarios.JoinWithHistoryAsync(etcd, history, 1);
    var empty = await Scenarios.JoinEmptyAsync(etcd, 3);
    Print($"join: ready after {bursts:F2} s with {history:N0} messages of history signed 64 at a time, {singles:F2} s signed one by one; {empty:F2} s in an empty group");
    var ceiling = $"etcd range read of {history:N0} keys";
    figures.Add(new Figure($"join with {history:N0} messages of history (64 per signature), start → ready", bursts, "s", "≤ 1.5 s", quick ? null : 1.5, false, ceiling, rangeRead));
    figures.Add(new Figure($"join with {history:N0} messages of history (one signature each), start → ready", singles, "s", "≤ 3 s", quick ? null : 3, false, ceiling, rangeRead));
    Print($"join with {history:N0} messages of history: the joiner's peak resident memory {peak:F1} MB");
    figures.Add(new Figure($"join with {history:N0} messages of history: peak resident memory", peak, "MB", "≤ 400 MB", 400, false));
    figures.Add(new Figure("join an empty group, start → ready", empty, "s", "< 1 s", 1, false, "mesh --help start → exit", processStart));
}

if (Runs("storage"))
{
    var (burstKey, burstValue, singleKey, singleValue) = await Scenarios.StorageAsync(etcd, quick ? 500 : 5_000);
    Print($"history in etcd per 100-byte message: in bursts {burstKey + burstValue:F0} B ({burstKey:F0} of key, {burstValue:F0} of value); "
        + $"sent one at a time {singleKey + singleValue:F0} B ({singleKey:F0} of key, {singleValue:F0} of value)");
    figures.Add(new Figure("history in etcd per 100-byte message, in bursts", burstKey + burstValue, "B", "(issue 15: fewer)", null, false));
    figures.Add(new Figure("history in etcd per 100-byte message, sent one at a time", singleKey + singleValue, "B", "(issue 15: fewer)", null, false));
}

if (Runs("retention"))
{
    var messages = quick ? 10_000 : 100_000;
    var (keepAll, kept, left) = await Scenarios.GrowthAsync(etcd, messages, messages / 10);
    Print($"etcd database in use after a {messages:N0}-message chat (compacted): {keepAll:F1} MiB keeping everything, {kept:F1} MiB keeping the newest {messages / 10:N0} ({left:N0} messages left in etcd)");
    figures.Add(new Figure($"etcd database growth over {messages:N0} messages, no retention", keepAll, "MiB", "(issue 15: measured)", null, false));
    figures.Add(new Figure($"etcd database growth over {messages:N0} messages, keeping the newest {messages / 10:N0}", kept, "MiB", "(issue 15: measured)", null, false));
    var range = quick ? 100_000 : 1_000_000;
    var (write, delete, deleted) = await Scenarios.DeleteRangeAsync(etcd, range);
    Print($"delete a range of {range:N0} history keys: {delete:F2} s ({deleted:N0} deleted, {EtcdHistoryStore.DeleteBatch:N0} per request; writing them took {write:F1} s)");
    figures.Add(new Figure($"delete a range of {range:N0} history keys", delete, "s", "(issue 15: measured)", null, false));
}

if (Runs("idle"))
{
    // Issue 31: an idle peer measured as Zyre's was on this machine (docs/performance.md keeps its figures).
    var costs = await Scenarios.IdleCostAsync(etcd, TimeSpan.FromSeconds(quick ? 10 : 30), TimeSpan.FromSeconds(quick ? 20 : 60));
    var cpu = Stats.Median(costs.Select(c => c.CpuSecondsPerMinute).ToList());
    var switches = Stats.Median(costs.Select(c => c.SwitchesPerMinute).ToList());
    var rss = Stats.Median(costs.Select(c => c.RssEndMb).ToList());
    var growth = Stats.Median(costs.Select(c => c.RssEndMb - c.RssStartMb).ToList());
    var threads = Stats.Median(costs.Select(c => (double)c.Threads).ToList());
    var each = string.Join("; ", costs.Select(c => FormattableString.Invariant($"{c.CpuSecondsPerMinute:F3} s, {c.SwitchesPerMinute:N0}, {c.RssEndMb:F1} MB, {c.Threads}")));
    Print(FormattableString.Invariant($"idle peer, group of 3 (median of the 3): {cpu:F3} s of CPU a minute, {switches:N0} context switches a minute, {rss:F1} MB resident ({growth:+0.0;-0.0;0.0} MB over the window), {threads:F0} threads; each: {each}"));
    figures.Add(new Figure("idle peer (group of 3): CPU a minute (Zyre 0.020 s)", cpu, "s", "≤ 0.06 s", quick ? null : 0.06, false));
    figures.Add(new Figure("idle peer: context switches a minute (Zyre 255-281)", switches, "", "≤ 1,500", quick ? null : 1_500, false));
    figures.Add(new Figure("idle peer: resident memory (Zyre 6.3 MB)", rss, "MB", "≤ 45 MB", quick ? null : 45, false));
    figures.Add(new Figure("idle peer: resident memory growth over the minute", growth, "MB", "not growing", null, false));
    figures.Add(new Figure("idle peer: threads (Zyre 6-7)", threads, "", "(fewer)", null, false));
    extra["idle"] = costs;
}

if (Runs("memory"))
{
    // Whether an idle peer's memory is flat: a group of three left alone, one member sampled every 10 s.
    var minutes = quick ? 2 : 5;
    var samples = await Scenarios.IdleMemoryAsync(etcd, TimeSpan.FromMinutes(minutes), TimeSpan.FromSeconds(10));
    var growth = samples[^1] - samples[0];
    var secondHalf = samples[^1] - samples[samples.Count / 2];
    Print($"idle memory over {minutes} min (group of 3, one member, from a minute in): {samples[0]:F1} → {samples[^1]:F1} MB "
        + $"(min {samples.Min():F1}, max {samples.Max():F1}; second half {secondHalf:+0.0;-0.0} MB)");
    figures.Add(new Figure($"idle peer: resident memory growth over {minutes} min", growth, "MB", "≤ 5 MB", quick ? null : 5, false));
    extra["idleMemoryMb"] = samples;
}

if (Runs("scale"))
{
    var size = quick ? 8 : 32;
    var (latencies, rss) = await Scenarios.ScaleAsync(etcd, size, 100, TimeSpan.FromSeconds(quick ? 2 : 5));
    var p99 = Stats.Percentile(latencies, 0.99);
    Print($"scale, {size} peers: {latencies.Count:N0} deliveries, p50 {Stats.Percentile(latencies, 0.5):F2} ms, p99 {p99:F2} ms; idle resident memory median {Stats.Median(rss):F1} MB, max {rss.Max():F1} MB");
    figures.Add(new Figure($"{size} peers: message to all {size - 1} others, p99", p99, "ms", "≤ 100 ms", quick ? null : 100, false, "NetMQ one-way p99", rawP99));
    figures.Add(new Figure($"{size} peers: idle resident memory, median", Stats.Median(rss), "MB", "≤ 60 MB", 60, false));
}

if (Runs("members"))
{
    // What one member costs every other, at each size: the figures docs/architecture.md projects from.
    var points = new List<Scenarios.MemberCost>();
    foreach (var size in quick ? new[] { 4, 8 } : new[] { 4, 8, 16, 32 })
    {
        var point = await Scenarios.MemberCostAsync(etcd, size, quick ? 100 : 300);
        points.Add(point);
        Print(string.Create(CultureInfo.InvariantCulture,
            $"members, {size}: resident {point.RssMb:F1} MB, {point.Sockets:F0} sockets, {point.Threads:F0} threads; idle {point.IdleCpuMsPerSec:F1} ms CPU/s, "
            + $"{point.IdleBytesPerLinkPerSec:F0} B/s per link; per message of {point.TextBytes} characters: {point.ReceiverCpuMsPerMessage:F2} ms CPU at each receiver, "
            + $"{point.SenderCpuMsPerMessage:F2} ms at the sender, {point.BytesPerLinkPerMessage:F0} B on each link"));
    }

    extra["members"] = points;
}

if (Runs("rotation"))
{
    var size = quick ? 8 : 32;
    var (seconds, committed, spread, missing, duplicated) = await Scenarios.RotationAsync(etcd, size);
    Print($"rotation, {size} peers, each sending a message every {Scenarios.RotationChatInterval} ms: /remove typed → removal sent to etcd {committed:F2} s; "
        + $"sent → every other member holding the new key {spread:F2} s; every member answering /members in the new epoch {seconds:F2} s after /remove; "
        + $"{missing} missing, {duplicated} duplicated at the creator");
    figures.Add(new Figure($"{size} peers: removal sent to etcd → every member holding the new key", spread, "s", "< 1 s", 1, false));
    figures.Add(new Figure($"{size} peers: /remove typed → every member answering in the new epoch", seconds, "s", "< 1 s", 1, false));
    figures.Add(new Figure($"{size} peers: messages lost or doubled through a rotation", missing + duplicated, "", "0", 0.5, false));
}

Console.WriteLine();
var table = new List<string>
{
    "| figure | Mesh | ceiling (same run) | ratio | target | |",
    "| --- | --- | --- | --- | --- | --- |",
};
table.AddRange(figures.Select(f => f.Row()));
foreach (var line in table)
{
    Console.WriteLine(line);
}

var results = new
{
    date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
    cores = Environment.ProcessorCount,
    quick,
    figures = figures.Select(f => new { f.Name, f.Value, f.Unit, f.Target, f.TargetValue, f.Ceiling, f.CeilingName, f.Ratio, f.Met }),
    details = extra,
};
if (args.Contains("--no-docs"))
{
    return 0;
}

var json = Path.Combine(root, "docs", quick ? "performance.quick.json" : "performance.json");
await File.WriteAllTextAsync(json, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"written: {json}");
if (!quick && only is null)
{
    var doc = Path.Combine(root, "docs", "performance.md");
    var text = await File.ReadAllTextAsync(doc);
    const string begin = "<!-- bench:begin -->", end = "<!-- bench:end -->";
    var from = text.IndexOf(begin, StringComparison.Ordinal);
    var to = text.IndexOf(end, StringComparison.Ordinal);
    if (from >= 0 && to > from)
    {
        var body = $"{begin}\nMeasured {results.date} UTC on {results.cores} cores (`deploy/bench.sh`).\n\n{string.Join('\n', table)}\n";
        await File.WriteAllTextAsync(doc, text[..from] + body + text[to..]);
        Console.WriteLine($"refreshed: {doc}");
    }
}

return 0;

void Print(string line) => Console.WriteLine(line);

static string RepositoryRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
        {
            return dir.FullName;
        }
    }

    return Directory.GetCurrentDirectory();
}
