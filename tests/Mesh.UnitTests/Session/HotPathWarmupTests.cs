using Mesh.Peer.Session;

namespace Mesh.UnitTests.Session;

[Category("Unit")]
public sealed class HotPathWarmupTests
{
    [Test]
    public void The_warm_up_runs_the_whole_path_without_a_failure() => Assert.DoesNotThrow(HotPathWarmup.Run);
}
