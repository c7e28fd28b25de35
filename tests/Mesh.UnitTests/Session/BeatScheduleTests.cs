using Mesh.Peer.Session;

namespace Mesh.UnitTests.Session;

[Category("Unit")]
public sealed class BeatScheduleTests
{
    private static readonly long Busy = (long)BeatSchedule.Busy.TotalMilliseconds;
    private static readonly long Quiet = (long)BeatSchedule.Quiet.TotalMilliseconds;

    /// <summary>The times (ms) at which beats leave over <paramref name="untilMs"/>, ticking every 250 ms, with what they
    /// say given by <paramref name="said"/> at each tick.</summary>
    private static List<long> Beats(BeatSchedule schedule, long fromMs, long untilMs, Func<long, int> said)
    {
        var sent = new List<long>();
        for (var now = fromMs; now <= untilMs; now += 250)
        {
            if (schedule.Due(now, said(now)))
            {
                sent.Add(now);
            }
        }

        return sent;
    }

    [Test]
    public void The_first_beat_leaves_at_once_and_beats_that_say_the_same_back_off_to_the_quiet_interval()
    {
        var schedule = new BeatSchedule();
        var sent = Beats(schedule, 0, 120_000, _ => 7);
        Assert.That(sent.Take(6), Is.EqualTo(new long[] { 0, 1_000, 3_000, 7_000, 15_000, 31_000 }));
        var gaps = sent.Zip(sent.Skip(1), (a, b) => b - a).ToList();
        Assert.That(gaps.Max(), Is.EqualTo(Quiet), "never quieter than the quiet interval");
        Assert.That(sent.Count, Is.LessThanOrEqualTo(12), "two minutes of an idle group: a handful of beats, not 120");
    }

    [Test]
    public void While_what_the_beats_say_changes_they_leave_once_a_second_and_a_change_after_quiet_leaves_at_the_next_tick()
    {
        var schedule = new BeatSchedule();
        Beats(schedule, 0, 60_000, _ => 1);
        // A message sent at 60,100: the tick after it beats, then once a second while messages go on.
        var busy = Beats(schedule, 60_250, 65_000, now => (int)(now / 100));
        Assert.That(busy[0], Is.EqualTo(60_250), "at once after a quiet spell");
        Assert.That(busy.Zip(busy.Skip(1), (a, b) => b - a), Is.All.EqualTo(Busy), "once a second while it changes");
    }

    [Test]
    public void Soon_sends_the_next_beat_at_the_next_tick_even_when_nothing_changed()
    {
        var schedule = new BeatSchedule();
        Beats(schedule, 0, 60_000, _ => 1);
        Assert.That(schedule.Due(60_250, 1), Is.False, "quiet: not yet");
        schedule.Soon();
        Assert.That(schedule.Due(60_500, 1), Is.True, "a link came up: the member hears this peer now");
        Assert.That(schedule.Due(60_750, 1), Is.False, "and the back-off goes on from there");
    }
}
