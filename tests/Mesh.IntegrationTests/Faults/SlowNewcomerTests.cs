using System.Diagnostics;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Faults;

/// <summary>A newcomer far from etcd, whose link to it is cut in the middle of its history read while a member chats
/// live: it reads again, shows the history and then the live messages, each once, in order, and says what it waits for.</summary>
public sealed class SlowNewcomerTests : EtcdFixture
{
    private const int HistoryMessages = 3000;

    /// <summary>Each way between the newcomer and etcd: a 150 ms round trip.</summary>
    private static readonly TimeSpan OneWay = TimeSpan.FromMilliseconds(75);

    /// <summary>What has reached the newcomer from etcd when its link is cut: a third of the history's one page (about
    /// 3.5 MB), and far more than anything it reads before it.</summary>
    private const long CutAfterBytes = 1024 * 1024;

    /// <summary>How long after etcd is back the newcomer must be ready: one read of the history again, with margin.</summary>
    private static readonly TimeSpan ReadyBound = TimeSpan.FromSeconds(40);

    /// <param name="cutSeconds">How long the link stays cut: 2 s, or 12 s, longer than the gap timeout (10 s) that live
    /// messages wait for a missing one in, so that those that came while the history loaded must wait for it anyway.</param>
    [TestCase(2)]
    [TestCase(12)]
    public async Task A_newcomer_whose_slow_etcd_link_is_cut_during_its_history_read_shows_the_history_then_the_live_messages_once_in_order(int cutSeconds)
    {
        var cutFor = TimeSpan.FromSeconds(cutSeconds);
        var group = NewGroup("slowjoin");
        var wren = StartPeer("wren", group);
        await wren.WaitReadyAsync(group, Long);
        // About 900 bytes each; numbered so that each view can be counted (the number is the text's first word).
        var padding = " " + new string('h', 890);
        var earlier = Enumerable.Range(1, HistoryMessages).Select(i => $"wren-{i}{padding}").ToList();
        await wren.SendManyAsync(earlier);
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == HistoryMessages, Long, "the 3,000 in history");

        using var distant = new TcpProxy(Etcd.ClientPort) { Delay = OneWay };
        var tripped = distant.CutAfterAsync(CutAfterBytes);
        using var stop = new CancellationTokenSource();
        var talk = new LiveTalk(wren, HistoryMessages + 1);
        var talking = talk.RunAsync(stop.Token);
        var joined = Stopwatch.StartNew();
        var nell = Track(PeerProcess.Start(distant.Url, "nell", [group]));

        await tripped.WaitAsync(Long);
        var cut = Stopwatch.StartNew();
        var cutAt = nell.Events.Count;
        var readyAtCut = nell.Of("ready", group).Count;
        TestContext.Out.WriteLine($"cut {joined.Elapsed.TotalSeconds:F1} s after nell started, {distant.BytesToClients:N0} bytes from etcd passed to it; "
            + $"it had shown {nell.Messages(group).Count} messages, wren had sent {talk.Sent} live");
        try
        {
            await nell.WaitForAsync(p => p.Events.Any(e => ReadFailed(e, group)), TimeSpan.FromSeconds(20), "nell says its read failed and is retried");
        }
        catch (TimeoutException)
        {
            // Counted below, with what it said instead.
        }

        await Waiting.UntilElapsedAsync(cut, cutFor);
        distant.Restore();
        var restored = Stopwatch.StartNew();

        TimeSpan? readyAfter = null;
        try
        {
            await nell.WaitReadyAsync(group, ReadyBound);
            readyAfter = restored.Elapsed;
        }
        catch (TimeoutException)
        {
        }

        // Ten live ones after ready, then wren stops and sends its last.
        var liveAtReady = talk.Sent;
        if (readyAfter is not null)
        {
            await nell.WaitForAsync(p => Texts(p, group).Contains($"wren-{HistoryMessages + liveAtReady + 10}"), Long, "ten live messages after ready");
        }

        stop.Cancel();
        await talking;
        var final = $"wren-{HistoryMessages + talk.Sent + 1}";
        await wren.SendAsync(final);
        var sent = Enumerable.Range(1, HistoryMessages + talk.Sent + 1).Select(i => $"wren-{i}").ToList();
        await wren.WaitForAsync(p => Texts(p, group).Contains(final), Long, "wren's last");
        if (readyAfter is not null)
        {
            await nell.WaitForAsync(p => Texts(p, group).Contains(final), Long, "wren's last at nell");
        }

        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == sent.Count, Long, "every one in etcd");
        var history = (await HistoryAsync(group, wren.Home)).Select(m => Numbered(m.Str("text")!)).ToList();
        var scenario = $"a newcomer {2 * OneWay.TotalMilliseconds:F0} ms from etcd, cut for {cutFor.TotalSeconds:F0} s during its history read of {HistoryMessages:N0}";
        var views = new[]
        {
            ViewFigures.Of(scenario, "newcomer", sent, Shown(nell, group)),
            ViewFigures.Of(scenario, "wren live", sent, Shown(wren, group)),
            ViewFigures.Of(scenario, "mesh history", sent, history),
        };
        foreach (var view in views)
        {
            view.Publish();
        }

        // From the cut as the test saw it, or from the failed read if nell said so before the test looked: after either,
        // nell was admitted.
        var events = nell.Events;
        var failedAt = events.ToList().FindIndex(e => ReadFailed(e, group));
        var said = events.Skip(failedAt < 0 ? cutAt : Math.Min(cutAt, failedAt)).Where(e => e.Str("type") is "waiting" or "error" or "info")
            .Select(e => $"{e.Str("type")}: {e.Str("message")}").ToList();
        TestContext.Out.WriteLine($"nell {(readyAfter is { } r ? $"ready {r.TotalSeconds:F2} s after etcd was back" : $"not ready within {ReadyBound.TotalSeconds:F0} s of etcd's return")}, "
            + $"{joined.Elapsed.TotalSeconds:F1} s after it started; {talk.Sent} live messages sent, {liveAtReady} of them before ready");
        TestContext.Out.WriteLine("nell said after the cut:\n  " + string.Join("\n  ", said));

        Assert.Multiple(() =>
        {
            Assert.That(readyAtCut, Is.Zero, "the cut came before ready: during the history read");
            Assert.That(readyAfter, Is.Not.Null, $"nell ready within {ReadyBound.TotalSeconds:F0} s of etcd's return");
            foreach (var view in views)
            {
                view.AssertWhole();
            }

            // History first, then live: everything wren had in etcd before nell read it is shown before ready.
            var shown = Shown(nell, group);
            var readyIndex = nell.Events.Where(e => e.Str("type") == "message" || e.Str("type") == "ready").ToList()
                .FindIndex(e => e.Str("type") == "ready");
            Assert.That(readyIndex, Is.GreaterThanOrEqualTo(HistoryMessages), "the 3,000 of history shown before ready");
            Assert.That(shown.Take(HistoryMessages), Is.EqualTo(sent.Take(HistoryMessages)), "the history first, in order");

            // What it said while cut is true: it is a member and reads the group; it never waits to be admitted again.
            Assert.That(events.Count(e => ReadFailed(e, group)), Is.EqualTo(1), "the failed read said once");
            Assert.That(said.Where(s => s.Contains("admit", StringComparison.Ordinal)), Is.Empty, "no word of waiting for an admission after it was admitted");
        });
    }

    /// <summary>The newcomer's word that reading the group failed and is retried.</summary>
    private static bool ReadFailed(System.Text.Json.JsonElement e, string group) =>
        e.Str("type") == "waiting" && e.Str("message")!.StartsWith($"reading '{group}' from etcd failed", StringComparison.Ordinal)
        && e.Str("message")!.EndsWith("trying again until etcd answers", StringComparison.Ordinal);

    /// <summary>The numbers (<c>wren-N</c>) of the messages a peer shows, in the order shown.</summary>
    private static List<string> Shown(PeerProcess peer, string group) => Texts(peer, group).Select(Numbered).ToList();

    private static string Numbered(string text) => text.Split(' ', 2)[0];

    /// <summary>A member talking live, ten numbered lines a second, until stopped.</summary>
    private sealed class LiveTalk(PeerProcess sender, int first)
    {
        private int _sent;

        /// <summary>How many it sent so far: <c>wren-{first}</c> onwards.</summary>
        public int Sent => Volatile.Read(ref _sent);

        public async Task RunAsync(CancellationToken ct)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            try
            {
                while (await timer.WaitForNextTickAsync(ct))
                {
                    await sender.SendAsync($"{sender.Name}-{first + _sent}");
                    Interlocked.Increment(ref _sent);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
