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
}
