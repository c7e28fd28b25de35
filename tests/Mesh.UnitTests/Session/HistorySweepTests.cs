using Mesh.Peer.Session;

namespace Mesh.UnitTests.Session;

[Category("Unit")]
public sealed class HistorySweepTests
{
    [Test]
    public void Nothing_is_read_while_nothing_is_missed_until_the_periodic_sweep()
    {
        var sweep = new HistorySweep(0);
        Assert.That(sweep.Due(HistorySweep.PeriodicMs - 1), Is.False);
        Assert.That(sweep.Due(HistorySweep.PeriodicMs), Is.True);
    }

    [Test]
    public void A_configured_period_shorter_than_the_links_down_one_holds_with_links_down_too()
    {
        var sweep = new HistorySweep(0, periodicMs: 2_000) { LinksDown = true };
        Assert.That(sweep.Due(1_999), Is.False);
        Assert.That(sweep.Due(2_000), Is.True);
    }

    [Test]
    public void A_known_gap_is_read_at_once_and_one_sweep_runs_at_a_time()
    {
        var sweep = new HistorySweep(0);
        sweep.NoteGap();
        Assert.That(sweep.Due(1), Is.True);
        sweep.Start(1);
        sweep.NoteGap();
        Assert.That(sweep.Due(5_000), Is.False, "in flight");
        sweep.Complete(5_000, foundMissing: true);
        Assert.That(sweep.Due(5_000), Is.True, "the gap noted meanwhile is read next");
    }

    [Test]
    public void A_gap_that_sweeps_do_not_fill_is_read_again_ever_more_slowly_up_to_a_ceiling()
    {
        var sweep = new HistorySweep(0);
        long now = 0;
        var waits = new List<long>();
        for (var i = 0; i < 8; i++)
        {
            sweep.NoteGap();
            var start = now;
            while (!sweep.Due(now))
            {
                now += 100;
            }

            waits.Add(now - start);
            sweep.Start(now);
            sweep.Complete(now, foundMissing: false);
        }

        Assert.That(waits.Skip(1), Is.Ordered);
        Assert.That(waits.Max(), Is.EqualTo(HistorySweep.MaxIntervalMs));
        sweep.NoteGap();
        sweep.Start(now += HistorySweep.MaxIntervalMs);
        sweep.Complete(now, foundMissing: true);
        sweep.NoteGap();
        Assert.That(sweep.Due(now + HistorySweep.MinIntervalMs), Is.True, "a sweep that filled something resets the pace");
    }

    [Test]
    public void A_periodic_sweep_that_finds_nothing_does_not_slow_the_next_gap()
    {
        var sweep = new HistorySweep(0);
        for (var i = 1; i <= 5; i++)
        {
            sweep.Start(i * HistorySweep.PeriodicMs);
            sweep.Complete(i * HistorySweep.PeriodicMs, foundMissing: false);
        }

        var now = 5 * HistorySweep.PeriodicMs;
        sweep.NoteGap();
        Assert.That(sweep.Due(now + HistorySweep.MinIntervalMs), Is.True);
    }

    [Test]
    public void While_a_link_is_down_history_is_read_more_often()
    {
        var sweep = new HistorySweep(0) { LinksDown = true };
        Assert.That(sweep.Due(HistorySweep.LinksDownIntervalMs), Is.True);
        sweep.LinksDown = false;
        Assert.That(sweep.Due(HistorySweep.LinksDownIntervalMs), Is.False);
    }
}
