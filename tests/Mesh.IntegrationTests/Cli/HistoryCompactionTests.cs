using Mesh.Testing;

namespace Mesh.IntegrationTests.Cli;

/// <summary><c>mesh history G</c> reads through etcd compactions as the join does: every message once, in key order.</summary>
public sealed class HistoryCompactionTests : EtcdFixture
{
    private static readonly TimeSpan CompactionPeriod = TimeSpan.FromMilliseconds(150);

    /// <summary>Each way between <c>mesh history</c> and etcd: a distant etcd, where every round trip (300 ms) outlasts
    /// the time between two compactions, so that every read pinned to the revision of the one before is refused.</summary>
    private static readonly TimeSpan OneWay = TimeSpan.FromMilliseconds(150);

    [Test]
    public async Task History_read_from_a_distant_etcd_compacting_every_150_ms_prints_every_message_once_in_key_order()
    {
        var group = NewGroup("histcompact");
        var writer = StartPeer("wren", group);
        await writer.WaitReadyAsync(group);
        var sent = Enumerable.Range(0, 2000).Select(i => $"kept {i:D4}").ToList();
        await writer.SendManyAsync(sent);
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == sent.Count, Long, "2,000 in history");
        Assert.That(await writer.CloseAsync(), Is.EqualTo(0));

        using var distant = new TcpProxy(Etcd.ClientPort) { Delay = OneWay };
        await using var compactor = new EtcdCompactor(Etcd.Url, CompactionPeriod);
        await Waiting.UntilAsync(() => compactor.Count > 0, Long, "the first compaction", () => compactor.Failure ?? "none yet");
        var before = compactor.Count;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (code, stdout, stderr) = await MeshCli.RunAsync("history", group, "--json", "--etcd", distant.Url, "--home", writer.Home);
        var during = compactor.Count - before;
        TestContext.Out.WriteLine($"mesh history: exit {code} after {clock.Elapsed.TotalSeconds:F1} s, {during} compactions meanwhile; stderr: {stderr.Trim()}");
        Assert.That(compactor.Failure, Is.Null, "every compaction went through");
        Assert.That(during, Is.GreaterThan(0), "etcd compacted while the history was read");

        Assert.That(code, Is.EqualTo(0), $"mesh history failed: {stderr}");
        var printed = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.That(printed.Select(m => m.Str("text")), Is.EqualTo(sent), "every message once, in the sender's order");
        Assert.That(printed.Select(m => m.Str("key")), Is.Ordered.Using((IComparer<string?>)StringComparer.Ordinal), "in key order");
        Assert.That(printed.Select(m => m.Str("key")).Distinct().Count(), Is.EqualTo(sent.Count), "no key twice");

        // Out of reach, the same read fails in one line.
        distant.Cut();
        var (cutCode, cutStdout, cutStderr) = await MeshCli.RunAsync("history", group, "--json", "--etcd", distant.Url, "--home", writer.Home);
        Assert.That(cutCode, Is.Not.EqualTo(0));
        Assert.That(cutStdout, Is.Empty);
        AssertOneLine(cutStderr, distant.Url);
    }
}
