using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Mesh.Coordinator.History;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Faults;

/// <summary>A receiver that missed more messages than one page of etcd's listing holds reads them all in one history
/// sweep: each once, each sender's in the order sent.</summary>
public sealed partial class LongSweepTests : EtcdFixture
{
    private const string Scenario = "a receiver cut off from 3 senders and etcd, read back in one sweep of more than a page";

    /// <summary>Each sender's lines while the receiver is cut off: together more names than one page of a sweep's
    /// listing (<see cref="EtcdHistoryStore.PageSize"/> keys).</summary>
    private const int Each = 2000;

    /// <summary>What a sweep logs (at Debug) when it is done: how many messages it brought that no link had.</summary>
    [GeneratedRegex(@"took (\d+) messages of '[^']+' from history that had not come over a link")]
    private static partial Regex TookFromHistory();

    [Test]
    public async Task A_receiver_that_missed_6000_messages_reads_them_in_one_sweep_over_two_pages_each_once_in_order()
    {
        Assert.That(3 * Each, Is.GreaterThan(EtcdHistoryStore.PageSize), "the sweep must list more than one page");
        var group = NewGroup("sweep");
        var names = new[] { "amy", "bea", "cal" };
        // Each sender publishes behind a proxy: cut, nobody's link to it carries anything until it is restored.
        int[] ports = [FreePort.Next(), FreePort.Next(), FreePort.Next()];
        using var toAmy = new TcpProxy(ports[0]);
        using var toBea = new TcpProxy(ports[1]);
        using var toCal = new TcpProxy(ports[2]);
        TcpProxy[] proxies = [toAmy, toBea, toCal];
        var senders = names.Select((n, i) => StartPeer(n, [group], null,
            "--bind", $"tcp://127.0.0.1:{ports[i]}", "--advertise", $"tcp://127.0.0.1:{proxies[i].Port}")).ToArray();
        // The receiver reaches etcd through a proxy too: cut with its links, none of its sweeps can list anything until
        // the senders' 6,000 messages are all in etcd and the proxy is restored, so that one sweep lists them all. Its
        // lease outlasts the cut (what is tested is the sweep, not presence).
        using var etcdPath = new TcpProxy(Etcd.ClientPort);
        var receiver = Track(PeerProcess.Start(etcdPath.Url, "rex", [group], null,
            new Dictionary<string, string> { ["MESH_LOG"] = "Debug" }, "--lease-ttl", "60"));
        var everyone = senders.Append(receiver).ToArray();
        var all = names.Append("rex").ToArray();
        foreach (var peer in everyone)
        {
            await peer.WaitReadyAsync(group, Long);
        }

        foreach (var peer in everyone)
        {
            await peer.WaitForAsync(p => all.All(OnlineNames(p, group).Contains), Long, "everyone online");
        }

        var sent = new List<string>();
        foreach (var sender in senders)
        {
            sent.Add($"{sender.Name}-0");
            await sender.SendAsync($"{sender.Name}-0");
        }

        await receiver.WaitForAsync(p => sent.All(Texts(p, group).Contains), Long, "the first message of each sender, live");

        etcdPath.Cut();
        foreach (var proxy in proxies)
        {
            proxy.Cut();
        }

        foreach (var name in names)
        {
            await receiver.WaitForAsync(p => p.Of("disconnected").Any(e => e.Str("target") == name), Long, $"the link to {name} lost");
        }

        var bursts = senders.Select(s => Enumerable.Range(1, Each).Select(i => $"{s.Name}-{i}").ToList()).ToList();
        sent.AddRange(bursts.SelectMany(b => b));
        await Task.WhenAll(senders.Select((s, i) => s.SendManyAsync(bursts[i])));
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == sent.Count, Long, $"all {sent.Count} in etcd");
        Assert.That(Counted(receiver, group), Has.Count.EqualTo(names.Length), "nothing reached the receiver while it was cut off");

        var clock = Stopwatch.StartNew();
        etcdPath.Restore();
        await receiver.WaitForAsync(p => Counted(p, group).Count >= sent.Count, Long, $"all {sent.Count} read from history");
        var recovery = clock.Elapsed;
        // The sweep says how many it took once it is done, just after it showed the last of them.
        await Waiting.UntilAsync(() => TookFromHistory().IsMatch(File.ReadAllText(receiver.StderrPath)), Long, "the sweep done", receiver.Tail);
        var sweeps = TookFromHistory().Matches(File.ReadAllText(receiver.StderrPath))
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        TestContext.Out.WriteLine($"{sent.Count} read from history {recovery.TotalSeconds:F2} s after etcd came back; " +
            $"messages taken by each of the receiver's sweeps: {string.Join(", ", sweeps)}");
        Assert.That(sweeps, Has.Some.GreaterThan(EtcdHistoryStore.PageSize), "one sweep listed more than a page");

        foreach (var proxy in proxies)
        {
            proxy.Restore();
        }

        foreach (var sender in senders)
        {
            await MarkAsync(sender, group, everyone.Where(p => p != sender).ToArray());
        }

        var joiner = StartPeer("lea", group);
        await joiner.WaitReadyAsync(group, Long);
        await joiner.WaitForAsync(p => Counted(p, group).Count >= sent.Count, Long, $"all {sent.Count}");
        var history = await CountedHistoryAsync(group, receiver.Home);
        var views = everyone.Select(p => (View: p == receiver ? "receiver rex, after the sweep" : $"sender {p.Name}",
            Texts: CountedTexts(p, group)))
            .Append((View: "late joiner lea", Texts: CountedTexts(joiner, group)))
            .Append((View: "mesh history", Texts: history)).ToList();
        var figures = views.Select(v => ViewFigures.Of(Scenario, v.View, sent, v.Texts)).ToList();
        foreach (var view in figures)
        {
            view.Publish();
        }

        // A sweep takes what it lacks in key order, whatever order etcd listed it in: the 6,000 it brought come in the
        // order of mesh history and a late joiner, not in the order the senders' transactions landed.
        var swept = Counted(receiver, group).Where(m => ViewFigures.Numbered(m.Str("text")!).N > 0).Select(m => m.Str("key")!).ToList();
        var descents = swept.Zip(swept.Skip(1)).Count(pair => string.CompareOrdinal(pair.First, pair.Second) > 0);
        TestContext.Out.WriteLine($"the {swept.Count} the sweep brought: {descents} shown right after a message with a later key");

        Assert.Multiple(() =>
        {
            foreach (var view in figures)
            {
                view.AssertWhole();
            }

            Assert.That(descents, Is.Zero, "what the sweep brought, shown in key order");
        });
    }
}
