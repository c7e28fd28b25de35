using Mesh.Peer.Session;

namespace Mesh.UnitTests.Session;

/// <summary>At most one trim per interval across a group, and no claim key can hold trims off for good.</summary>
[Category("Unit")]
public sealed class TrimScheduleTests
{
    private const long Interval = 60_000;

    [Test]
    public void A_member_claims_once_the_claim_has_stood_still_for_an_interval()
    {
        var schedule = new TrimSchedule(TimeSpan.FromMilliseconds(Interval));
        Assert.That(schedule.Decide("g", 0, "b1", 0), Is.EqualTo(TrimTurn.Wait));
        Assert.That(schedule.Decide("g", 0, "b1", Interval - 1), Is.EqualTo(TrimTurn.Wait));
        Assert.That(schedule.Decide("g", 0, "b1", Interval), Is.EqualTo(TrimTurn.Claim));
    }

    [Test]
    public void Another_members_claim_starts_the_interval_again()
    {
        var schedule = new TrimSchedule(TimeSpan.FromMilliseconds(Interval));
        schedule.Decide("g", 5, "b1", 0);
        Assert.That(schedule.Decide("g", 9, "b1", Interval), Is.EqualTo(TrimTurn.Wait), "the claim moved: someone trimmed");
        Assert.That(schedule.Decide("g", 9, "b1", 2 * Interval), Is.EqualTo(TrimTurn.Claim));
        schedule.Trimmed("g", 12, 2 * Interval);
        Assert.That(schedule.Decide("g", 12, "b2", 2 * Interval + 1), Is.EqualTo(TrimTurn.Wait), "its own trim starts it again too");
    }

    [Test]
    public void A_bound_is_handed_back_for_checking_two_intervals_after_it_was_found()
    {
        var schedule = new TrimSchedule(TimeSpan.FromMilliseconds(Interval));
        schedule.Decide("g", 1, "b1", 0);
        Assert.That(schedule.StaleBound("g", Interval), Is.Null);
        schedule.Decide("g", 2, "b2", Interval);
        Assert.That(schedule.StaleBound("g", 2 * Interval), Is.EqualTo("b1"), "the first bound, not a later one");
        Assert.That(schedule.StaleBound("g", 2 * Interval), Is.Null, "handed back once");
        schedule.Decide("g", 3, "b3", 2 * Interval);
        Assert.That(schedule.StaleBound("g", 4 * Interval), Is.EqualTo("b3"));
        Assert.That(schedule.StaleBound("other", 4 * Interval), Is.Null);
    }
}
