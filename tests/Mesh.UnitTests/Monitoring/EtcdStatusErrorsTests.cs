using Mesh.Monitoring.Watcher;

namespace Mesh.UnitTests.Monitoring;

[Category("Unit")]
public sealed class EtcdStatusErrorsTests
{
    [Test]
    public void A_nospace_alarm_is_said_as_a_full_database_with_its_size_and_the_way_out()
    {
        // As etcd 3.4 reports it in its status (seen with a 4 MiB quota).
        var said = MeshWatcher.DescribeErrors(["memberID:11077911701611787539 alarm:NOSPACE "], 4_825_088);
        Assert.That(said, Is.EqualTo("NOSPACE alarm: its database is full (4.6 MiB); it refuses writes until it is compacted, defragmented and disarmed"));
    }

    [Test]
    public void No_errors_is_no_error_and_other_errors_pass_through_once()
    {
        Assert.That(MeshWatcher.DescribeErrors([], 1), Is.Null);
        Assert.That(MeshWatcher.DescribeErrors([" "], 1), Is.Null);
        Assert.That(MeshWatcher.DescribeErrors(["raft: stopped", "raft: stopped"], 1), Is.EqualTo("raft: stopped"));
    }

    [Test]
    public void Alarms_are_named_and_a_database_past_80_percent_of_its_quota_is_a_warning_until_an_alarm_says_more()
    {
        Assert.That(MeshWatcher.Alarms(["memberID:1 alarm:NOSPACE ", "memberID:2 alarm:NOSPACE", "raft: stopped"]), Is.EqualTo(new[] { "NOSPACE" }));
        Assert.That(MeshWatcher.Alarms([]), Is.Empty);

        var quota = 16L << 20;
        var fine = new EndpointHealth("e", true, true, 12L << 20, 1, "3.4", null, "m") { QuotaBytes = quota };
        Assert.That(fine.QuotaPercent, Is.EqualTo(75));
        Assert.That(fine.Warning, Is.Null);
        var filling = fine with { DbSizeBytes = 13L << 20 };
        Assert.That(filling.Warning, Does.StartWith("database at 81 % of its 16 MiB quota (13.0 MiB)"));
        Assert.That((filling with { Alarms = ["NOSPACE"] }).Warning, Is.Null, "the alarm is the error then");
        Assert.That((fine with { QuotaBytes = 0 }).QuotaPercent, Is.Null, "no quota known, no share");
    }
}
