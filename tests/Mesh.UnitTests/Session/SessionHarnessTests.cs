using Mesh.Peer.Session;
using Mesh.UnitTests.Session.Harness;

namespace Mesh.UnitTests.Session;

/// <summary>Whole sessions on the in-memory twins (see <see cref="SessionHarness"/>): join, admission, commits,
/// history, departures and shutdown, each in well under a second of real time.</summary>
public sealed class SessionHarnessTests
{
    private SessionHarness _harness = null!;

    [SetUp]
    public void SetUp() => _harness = new SessionHarness();

    [TearDown]
    public async Task TearDown() => await _harness.DisposeAsync();

    private static string NewGroup(string stem) => $"{stem}-{Guid.NewGuid():N}"[..20];

    /// <summary>Two peers in a new open group, both ready.</summary>
    private async Task<(HarnessPeer First, HarnessPeer Second)> PairAsync(string group)
    {
        var amy = _harness.Start("amy", group);
        await _harness.UntilAsync(() => amy.Ready(group), "amy created the group");
        var bo = _harness.Start("bo", group);
        await _harness.UntilAsync(() => bo.Ready(group), "bo admitted and ready");
        await _harness.UntilAsync(() => amy.Of<MemberEvent>().Any(m => m.Joined && m.PeerId == bo.PeerId), "amy sees bo join");
        return (amy, bo);
    }

    [Test]
    public async Task A_newcomer_to_an_open_group_is_admitted_and_messages_go_both_ways()
    {
        var group = NewGroup("open");
        var (amy, bo) = await PairAsync(group);
        amy.Type("hello bo");
        bo.Type("hello amy");
        await _harness.UntilAsync(() => bo.Texts(group).Contains("hello bo") && amy.Texts(group).Contains("hello amy"), "both messages");
        Assert.That(amy.Texts(group), Is.EqualTo(new[] { "hello bo", "hello amy" }).Or.EqualTo(new[] { "hello amy", "hello bo" }));
    }
}
