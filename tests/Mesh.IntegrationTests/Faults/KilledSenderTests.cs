using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Faults;

/// <summary>A sender SIGKILLed in the middle of its bursts, again and again, and restarted with the same home: what it
/// showed as sent is everywhere, once, in the order it sent it.</summary>
public sealed partial class KilledSenderTests : EtcdFixture
{
    private const string Scenario = "sender SIGKILLed mid-burst and restarted";

    /// <summary>Where each killed run dies: the signal goes as this many of its burst's lines are shown as sent.</summary>
    private static readonly int[] KillAfter = [1, 700, 160, 450, 35, 900, 300, 75];

    /// <summary>Lines written at once: a peer shows a few hundred before a kill sent on the first lands.</summary>
    private const int Burst = 1000;

    /// <summary>The error a run says at start when the last one left sent messages in the outbox.</summary>
    [GeneratedRegex(@"^writing (\d+) sent messages left in the outbox by the last run to history$")]
    private static partial Regex OutboxTail();

    [Test]
    public async Task A_sender_killed_mid_burst_eight_times_is_shown_whole_once_and_in_order_in_every_view()
    {
        var group = NewGroup("killed");
        var receivers = await StartOnlineAsync(group, "rae", "rob");
        var home = NewHome("sid");
        // What the sender showed as its own (the only member that sends here, so every message from "sid"), in any run.
        var shownAsSent = new HashSet<string>(StringComparer.Ordinal);
        var runs = new List<PeerProcess>();
        var shownOfBursts = new List<int>();
        var next = 0;
        var clock = Stopwatch.StartNew();

        foreach (var killAfter in KillAfter)
        {
            var run = StartPeer("sid", [group], home);
            runs.Add(run);
            await run.WaitReadyAsync(group, Long);
            var burst = Enumerable.Range(next, Burst).Select(n => $"s-{n}").ToList();
            var first = next;
            next += Burst;
            var shownOfBurst = 0;
            run.EventReceived += (e, _) =>
            {
                // Killed on the spot, from the reading thread, as soon as the burst's n-th line is shown as sent.
                if (e.Str("type") == "message" && e.Str("from") == "sid" && ViewFigures.Numbered(e.Str("text")!).N >= first
                    && Interlocked.Increment(ref shownOfBurst) == killAfter)
                {
                    run.Signal(PeerProcess.SIGKILL);
                }
            };
            try
            {
                await run.SendManyAsync(burst);
            }
            catch (IOException)
            {
                // Killed before the pipe took every line: those were never sent.
            }

            await run.WaitForAsync(_ => Volatile.Read(ref shownOfBurst) >= killAfter, Long, $"{killAfter} of the burst shown");
            await run.CloseAsync();
            shownAsSent.UnionWith(CountedTexts(run, group));
            shownOfBursts.Add(CountedTexts(run, group).Count(t => ViewFigures.Numbered(t).N >= first));
        }

        var last = StartPeer("sid", [group], home);
        runs.Add(last);
        await last.WaitReadyAsync(group, Long);
        var final = Enumerable.Range(next, Burst).Select(n => $"s-{n}").ToList();
        await last.SendManyAsync(final);
        await last.WaitForAsync(p => final.All(Texts(p, group).Contains), Long, "the last run's burst shown as sent");
        await MarkAsync(last, group, receivers);
        shownAsSent.UnionWith(CountedTexts(last, group));

        // A late copy of anything has had its chance once every receiver shows all the sender showed.
        foreach (var receiver in receivers)
        {
            await receiver.WaitForAsync(p => shownAsSent.IsSubsetOf(Texts(p, group)), Long, "every message the sender showed as sent");
        }

        var joiner = StartPeer("lea", group);
        await joiner.WaitReadyAsync(group, Long);
        await joiner.WaitForAsync(p => shownAsSent.IsSubsetOf(Texts(p, group)), Long, "every message the sender showed as sent");
        var history = await CountedHistoryAsync(group, receivers[0].Home);
        var elapsed = clock.Elapsed;

        var views = new List<(string View, List<string> Texts)>
        {
            ("receiver rae, live", CountedTexts(receivers[0], group)),
            ("receiver rob, live", CountedTexts(receivers[1], group)),
            ("the sender after its last restart", CountedTexts(last, group)),
            ("late joiner lea", CountedTexts(joiner, group)),
            ("mesh history", history),
        };
        // What any view shows was sent: the sender showed it, before a kill or after a restart.
        var sent = shownAsSent.Union(views.SelectMany(v => v.Texts)).ToList();
        var recovered = runs.Skip(1).Select(r => r.Of("error").Select(e => OutboxTail().Match(e.Str("message") ?? ""))
            .Where(m => m.Success).Sum(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))).ToList();
        TestContext.Out.WriteLine($"{KillAfter.Length} kills, {runs.Count} runs in {elapsed.TotalSeconds:F1} s; shown as sent by the sender: " +
            $"{shownAsSent.Count}; lines of its burst each killed run showed: {string.Join(", ", shownOfBursts)}; written from the outbox at " +
            $"each restart: {string.Join(", ", recovered)}");

        var figures = views.Select(v => ViewFigures.Of(Scenario, v.View, sent, v.Texts)).ToList();
        foreach (var view in figures)
        {
            view.Publish();
        }

        // Each killed run's own view: incomplete by nature, but never a message twice or out of its order.
        var killed = runs.SkipLast(1).Select((r, i) => ViewFigures.Of(Scenario, $"the sender's run {i + 1} until killed", sent, CountedTexts(r, group))).ToList();
        foreach (var run in killed)
        {
            TestContext.Out.WriteLine($"{run.View}: shown {run.Shown}, duplicated {run.Duplicated}, shown after a later message of its sender {run.OutOfOrder}");
        }

        Assert.Multiple(() =>
        {
            Assert.That(sent, Is.EquivalentTo(shownAsSent), "every message a view shows is one the sender showed as sent");
            foreach (var view in figures)
            {
                view.AssertWhole();
            }

            foreach (var run in killed)
            {
                Assert.That(run.Duplicated, Is.Zero, $"{run.View}: duplicated");
                Assert.That(run.OutOfOrder, Is.Zero, $"{run.View}: shown after a later message of its sender");
            }

            Assert.That(views[2].Texts, Is.SupersetOf(history), "what reached history is the sender's own after its last restart");
        });
    }
}
