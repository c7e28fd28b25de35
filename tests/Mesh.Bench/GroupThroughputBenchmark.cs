using System.Diagnostics;
using System.Globalization;
using Mesh.Testing;

namespace Mesh.Bench;

/// <summary>Group throughput: one sender, N receivers, M messages; delivered to all and persisted in history.</summary>
/// <remarks>Usage: <c>dotnet run -c Release --project tests/Mesh.Bench -- [messages] [receivers] [runs]</c>.</remarks>
public static class GroupThroughputBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var messages = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5000;
        var receivers = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 4;
        var runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        using var etcd = await EtcdProcess.StartAsync("bench");
        var delivered = new List<double>();
        var persisted = new List<double>();
        for (var run = 1; run <= runs; run++)
        {
            var (d, p) = await OneRunAsync(etcd, messages, receivers, run);
            delivered.Add(d);
            persisted.Add(p);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {run}: {messages} messages x {receivers} receivers: delivered to all at {d:F0} msg/s, persisted at {p:F0} msg/s"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"median: delivered {Median(delivered):F0} msg/s, persisted {Median(persisted):F0} msg/s (1 sender, {receivers} receivers, {messages} messages, {runs} runs)"));
        return 0;
    }

    private static async Task<(double Delivered, double Persisted)> OneRunAsync(EtcdProcess etcd, int messages, int receiverCount, int run)
    {
        var group = $"bench-{run}-{Guid.NewGuid():N}"[..24];
        var peers = new List<PeerProcess>();
        try
        {
            var sender = PeerProcess.Start(etcd.Url, "sender", [group]);
            peers.Add(sender);
            for (var i = 0; i < receiverCount; i++)
            {
                peers.Add(PeerProcess.Start(etcd.Url, $"r{i}", [group]));
            }

            foreach (var peer in peers)
            {
                await peer.WaitReadyAsync(group, TimeSpan.FromSeconds(60));
            }

            await sender.WaitForAsync(p => p.Of("joined", group).Count + p.Of("ready", group)[0].GetProperty("members").GetArrayLength() - 1 >= receiverCount,
                TimeSpan.FromSeconds(60), "all receivers online");
            var lines = Enumerable.Range(0, messages).Select(i => $"message {i:D6} " + new string('x', 86)).ToList();
            var clock = Stopwatch.StartNew();
            await sender.SendManyAsync(lines);
            foreach (var receiver in peers.Skip(1))
            {
                await receiver.WaitForAsync(p => p.Messages(group).Count >= messages, TimeSpan.FromMinutes(5), "all messages");
            }

            var deliveredSeconds = clock.Elapsed.TotalSeconds;
            await Waiting.UntilAsync(() => Count(etcd, group) >= messages, TimeSpan.FromMinutes(5), "history");
            var persistedSeconds = clock.Elapsed.TotalSeconds;
            return (messages / deliveredSeconds, messages / persistedSeconds);
        }
        finally
        {
            foreach (var peer in peers)
            {
                await peer.CloseAsync(TimeSpan.FromSeconds(30));
                await peer.DisposeAsync();
            }
        }
    }

    private static long Count(EtcdProcess etcd, string group) => etcd.CountKeys($"/mesh/history/{group}/").Count;

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
