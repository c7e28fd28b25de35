using System.Diagnostics;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Faults;

/// <summary>A receiver whose wall clock is stepped an hour back or forward while it runs (libfaketime reading its offset
/// from a file), then cut off from its sender: every view shows every message once, in its sender's order, soon after
/// the heal.</summary>
public sealed class ClockStepTests : EtcdFixture
{
    /// <summary>How long after the heal the receiver must show everything: sweeps come every second while a gap is
    /// known, so this is a loaded machine's margin.</summary>
    private static readonly TimeSpan RepairBound = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan CutFor = TimeSpan.FromSeconds(6);

    [Test]
    public async Task A_receiver_whose_wall_clock_steps_back_an_hour_then_loses_its_link_shows_every_message_once_in_order()
    {
        var group = NewGroup("stepback");
        using var clock = new SteppedClock();
        using var amyPub = new PublisherProxy();
        using var boPub = new PublisherProxy();
        var (amy, bo) = await PairAsync(group, clock, amyPub, boPub, Etcd.Url);
        var sent = await ChatAsync(group, amy, bo);
        var chatted = Stopwatch.StartNew();

        clock.Set("-1h");
        var back = LinkBacks(bo);
        var cutFor = await CutWhileAmyTalksAsync(group, amy, bo, [amyPub, boPub], sent);
        var shownAtHeal = Texts(bo, group).Count;

        var healed = Stopwatch.StartNew();
        var repaired = await RepairAsync(group, amy, bo, sent, 306);
        TestContext.Out.WriteLine($"bo showed {shownAtHeal} of {sent.Count - 1} at the heal (what the cut kept from it came from history); its link to amy "
            + $"{(LinkBacks(bo) > back ? "came back" : "did not come back")} within {healed.Elapsed.TotalSeconds:F1} s of the heal");
        // bo's send times never go back: an hour behind, its next one is stamped as its last before the step.
        var (stamped, passed) = await SentAtStepAsync(group, amy, bo, sent, chatted);
        await ReportAsync($"wall clock stepped back 1 h, then the link cut for {cutFor.TotalSeconds:F1} s", group, amy, bo, sent, repaired, healed);
        Assert.That(stamped, Is.LessThan(passed / 2), "bo's clock was behind when it sent its next line");
    }

    [Test]
    public async Task A_receiver_whose_wall_clock_steps_forward_an_hour_while_messages_wait_for_a_gap_shows_every_message_once_in_order()
    {
        var group = NewGroup("stepfwd");
        using var clock = new SteppedClock();
        // bo reaches etcd through a proxy: cut, it cannot read the gap its link left, and the live messages after the
        // gap wait for it while the clock steps. Its lease outlasts the cut.
        using var boEtcd = new TcpProxy(Etcd.ClientPort);
        using var amyPub = new PublisherProxy();
        using var boPub = new PublisherProxy();
        var (amy, bo) = await PairAsync(group, clock, amyPub, boPub, boEtcd.Url, "--lease-ttl", "60");
        var sent = await ChatAsync(group, amy, bo);
        var chatted = Stopwatch.StartNew();
        await Waiting.UntilAsync(() => HistoryCount(group) == sent.Count, Long, "the chat in etcd before its cut");

        var back = LinkBacks(bo);
        boEtcd.Cut();
        await CutWhileAmyTalksAsync(group, amy, bo, [amyPub, boPub], sent);
        await bo.WaitForAsync(p => LinkBacks(p) > back, Long, "bo's link to amy back");

        // Ten live ones behind the gap of 300: bo holds them until it reads the gap, at most the gap timeout (10 s).
        var after = Numbered("amy", 306, 10);
        await amy.SendManyAsync(after);
        sent.AddRange(after);
        await amy.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == after[^1]), Long, "amy sent the ten");
        clock.Set("+1h");
        var stepped = Stopwatch.StartNew();
        // A second of etcd still out of reach after the step: held messages stamped by the wall clock would all be
        // past the gap timeout at the next tick (250 ms), and shown ahead of the 300.
        await Waiting.UntilElapsedAsync(stepped, TimeSpan.FromSeconds(1));
        boEtcd.Restore();

        var heldThrough = Texts(bo, group).Intersect(after).Count();
        var healed = Stopwatch.StartNew();
        var repaired = await RepairAsync(group, amy, bo, sent, 316);
        var (stamped, _) = await SentAtStepAsync(group, amy, bo, sent, chatted);
        await ReportAsync("wall clock stepped forward 1 h while 10 live messages waited for a gap of 300", group, amy, bo, sent, repaired, healed);
        Assert.That(stamped, Is.GreaterThan(TimeSpan.FromMinutes(50)), "bo's clock was an hour ahead when it sent its next line");
        Assert.That(heldThrough, Is.Zero, "none of the ten shown before the gap could be read");
    }

    /// <summary>amy (real clock) and bo (on <paramref name="clock"/>), each publishing behind its proxy; both ready and
    /// online.</summary>
    private async Task<(PeerProcess Amy, PeerProcess Bo)> PairAsync(string group, SteppedClock clock, PublisherProxy amyPub, PublisherProxy boPub,
        string boEtcd, params string[] boExtra)
    {
        var amy = StartPeer("amy", [group], null, amyPub.Flags);
        var bo = Track(PeerProcess.Start(boEtcd, "bo", [group], null, clock.Environment, [.. boPub.Flags, .. boExtra]));
        await amy.WaitReadyAsync(group, Long);
        await bo.WaitReadyAsync(group, Long);
        await amy.WaitForAsync(p => OnlineNames(p, group).Contains("bo"), Long, "bo online");
        await bo.WaitForAsync(p => OnlineNames(p, group).Contains("amy"), Long, "amy online");
        return (amy, bo);
    }

    /// <summary>Cuts the links, and while they stay cut (<see cref="CutFor"/>) amy sends 300 messages; then restores them.
    /// Returns how long the cut lasted.</summary>
    private async Task<TimeSpan> CutWhileAmyTalksAsync(string group, PeerProcess amy, PeerProcess bo, PublisherProxy[] links, List<string> sent)
    {
        var cut = Stopwatch.StartNew();
        var dropped = bo.Of("disconnected").Count(e => e.Str("target") == "amy");
        foreach (var link in links)
        {
            link.Cut();
        }

        await bo.WaitForAsync(p => p.Of("disconnected").Count(e => e.Str("target") == "amy") > dropped, Long, "bo's link to amy lost");
        var during = Numbered("amy", 6, 300);
        await SendPacedAsync(amy, during, TimeSpan.FromSeconds(5));
        sent.AddRange(during);
        await Waiting.UntilAsync(() => HistoryCount(group) == sent.Count, Long, $"the {sent.Count} in etcd");
        await Waiting.UntilElapsedAsync(cut, CutFor);
        foreach (var link in links)
        {
            link.Restore();
        }

        return cut.Elapsed;
    }

    /// <summary>How often bo's link to amy came back.</summary>
    private static int LinkBacks(PeerProcess bo) => bo.Of("reconnected").Count(e => e.Str("target") == "amy");

    /// <summary>Five lines each, taking turns, each sent once its sender saw the one before.</summary>
    private static async Task<List<string>> ChatAsync(string group, PeerProcess amy, PeerProcess bo)
    {
        var sent = new List<string>();
        for (var i = 1; i <= 5; i++)
        {
            foreach (var (from, to) in new[] { (amy, bo), (bo, amy) })
            {
                var line = $"{from.Name}-{i}";
                await from.SendAsync(line);
                await to.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == line), Long, line);
                sent.Add(line);
            }
        }

        return sent;
    }

    /// <summary>amy's last message, sent after the heal; then waits (up to <see cref="RepairBound"/>) for bo to show every
    /// one sent. The time it took, or null when it did not.</summary>
    private static async Task<TimeSpan?> RepairAsync(string group, PeerProcess amy, PeerProcess bo, List<string> sent, int last)
    {
        var clock = Stopwatch.StartNew();
        var final = $"amy-{last}";
        await amy.SendAsync(final);
        sent.Add(final);
        try
        {
            await bo.WaitForAsync(p => !sent.Except(Texts(p, group)).Any(), RepairBound, $"every one of the {sent.Count} at bo");
            return clock.Elapsed;
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    /// <summary>bo's next line, once amy shows it: how far its send time is from bo's last line before the step, and how
    /// much real time lay between the two (at least what <paramref name="chatted"/> shows).</summary>
    private static async Task<(TimeSpan Stamped, TimeSpan Passed)> SentAtStepAsync(string group, PeerProcess amy, PeerProcess bo, List<string> sent,
        Stopwatch chatted)
    {
        var line = "bo-6";
        await bo.SendAsync(line);
        sent.Add(line);
        await amy.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == line), Long, line);
        var shown = amy.Of("message", group).Where(m => m.Str("from") == "bo").ToDictionary(m => m.Str("text")!);
        var stamped = DateTimeOffset.Parse(shown["bo-6"].Str("sent_at")!, System.Globalization.CultureInfo.InvariantCulture)
            - DateTimeOffset.Parse(shown["bo-5"].Str("sent_at")!, System.Globalization.CultureInfo.InvariantCulture);
        var passed = chatted.Elapsed;
        TestContext.Out.WriteLine($"bo's send times: {stamped.TotalSeconds:F1} s apart across the step, {passed.TotalSeconds:F1} s apart in real time");
        return (stamped, passed);
    }

    /// <summary>Counts bo and amy live, a late joiner and <c>mesh history</c> against what was sent; asserts every view whole.</summary>
    private async Task ReportAsync(string scenario, string group, PeerProcess amy, PeerProcess bo, List<string> sent, TimeSpan? repaired, Stopwatch healed)
    {
        await amy.WaitForAsync(p => !sent.Except(Texts(p, group)).Any(), Long, "every one at amy");
        await Waiting.UntilAsync(() => HistoryCount(group) == sent.Count, Long, "every one in etcd");
        var late = StartPeer("cy", group);
        await late.WaitReadyAsync(group, Long);
        var history = (await HistoryAsync(group, amy.Home)).Select(m => m.Str("text")!).ToList();
        TestContext.Out.WriteLine($"{scenario}: bo showed every message {(repaired is { } t ? $"{t.TotalSeconds:F2} s after the heal" : $"not within {RepairBound.TotalSeconds:F0} s of the heal")}"
            + $" ({healed.Elapsed.TotalSeconds:F1} s since the heal now)");
        var views = new[]
        {
            ViewFigures.Of(scenario, "bo live (stepped clock)", sent, Texts(bo, group)),
            ViewFigures.Of(scenario, "amy live", sent, Texts(amy, group)),
            ViewFigures.Of(scenario, "late joiner", sent, Texts(late, group)),
            ViewFigures.Of(scenario, "mesh history", sent, history),
        };
        foreach (var view in views)
        {
            view.Publish();
        }

        Assert.Multiple(() =>
        {
            foreach (var view in views)
            {
                view.AssertWhole();
            }

            Assert.That(repaired, Is.Not.Null, $"bo showed every message within {RepairBound.TotalSeconds:F0} s of the heal");
        });
    }

    private static List<string> Numbered(string sender, int first, int count) =>
        Enumerable.Range(first, count).Select(i => $"{sender}-{i}").ToList();

    /// <summary>Writes <paramref name="lines"/> in tens, spread over <paramref name="over"/>: a sender talking fast, not
    /// one burst.</summary>
    private static async Task SendPacedAsync(PeerProcess sender, List<string> lines, TimeSpan over)
    {
        var chunks = lines.Chunk(10).ToList();
        var pace = Stopwatch.StartNew();
        for (var i = 0; i < chunks.Count; i++)
        {
            await Waiting.UntilElapsedAsync(pace, over * i / chunks.Count);
            await sender.SendManyAsync(chunks[i]);
        }
    }

    private long HistoryCount(string group) => Etcd.CountMessages($"/mesh/history/{group}/");
}
