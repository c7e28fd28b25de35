using Mesh.Peer.Session;
using Mesh.UnitTests.Session.Harness;

namespace Mesh.UnitTests.Session;

/// <summary>Each part of the session on the harness (see <see cref="SessionHarness"/>): what it decides, seen from
/// the outside, in milliseconds.</summary>
public sealed class SessionPartsTests
{
    private SessionHarness _harness = null!;

    [SetUp]
    public void SetUp() => _harness = new SessionHarness();

    [TearDown]
    public async Task TearDown() => await _harness.DisposeAsync();

    private static string NewGroup(string stem) => $"{stem}-{Guid.NewGuid():N}"[..20];

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
    public async Task LineHandler_tells_what_it_cannot_do_and_sends_plain_lines_to_the_current_group()
    {
        var amy = _harness.Start("amy");
        amy.Type("hello?");
        amy.Type("/frobnicate");
        amy.Type("/switch nowhere");
        await _harness.UntilAsync(() => amy.Of<ErrorEvent>().Count() >= 3, "three errors");
        var errors = amy.Of<ErrorEvent>().Select(e => e.Message).ToList();
        Assert.That(errors[0], Does.Contain("not in any group"));
        Assert.That(errors[1], Does.Contain("/frobnicate"));
        Assert.That(errors[2], Does.Contain("not in group 'nowhere'"));

        var first = NewGroup("first");
        var second = NewGroup("second");
        amy.Type($"/join {first}");
        amy.Type($"/join {first}");
        await _harness.UntilAsync(() => amy.Ready(first), "first created (the second /join confirms)");
        amy.Type($"/join {second}");
        amy.Type($"/join {second}");
        amy.Type("to the first");
        amy.Type($"/switch {second}");
        amy.Type("to the second");
        await _harness.UntilAsync(() => amy.Texts(second).Count == 1, "the line after /switch");
        Assert.That(amy.Texts(first), Is.EqualTo(new[] { "to the first" }), "a /join does not switch when a group is current");
        Assert.That(amy.Texts(second), Is.EqualTo(new[] { "to the second" }));
    }

    [Test]
    public async Task MemberCommands_list_roles_and_links_and_refuse_a_removal_by_a_plain_member()
    {
        var group = NewGroup("members");
        var (amy, bo) = await PairAsync(group);
        bo.Type("/remove amy");
        amy.Type("/members");
        await _harness.UntilAsync(() => bo.Of<ErrorEvent>().Any() && amy.Of<MembersEvent>().Any(), "the refusal and the list");
        Assert.That(bo.Of<ErrorEvent>().Last().Message, Does.Contain("only the creator"));
        var list = amy.Of<MembersEvent>().Single();
        Assert.That(list.Members.Select(m => (m.Name, m.Role, m.Online)), Is.EquivalentTo(new[] { ("amy", "creator", true), ("bo", "member", true) }));
        Assert.That(list.Members.Single(m => m.Name == "bo").Link, Is.EqualTo("up"));
        Assert.That(list.Epoch, Is.EqualTo(1));
    }

    [Test]
    public async Task Receiver_refuses_junk_on_a_members_link_and_goes_on_with_what_the_member_really_sends()
    {
        var group = NewGroup("junk");
        var (amy, bo) = await PairAsync(group);
        InMemoryMesh.Inject(bo.Node!, amy.PeerId, group, "not an envelope"u8.ToArray());
        InMemoryMesh.Inject(bo.Node!, amy.PeerId, group, [0x01, (byte)'b', 0xff]);
        amy.Type("the real one");
        await _harness.UntilAsync(() => bo.Texts(group).Contains("the real one"), "amy's message after the junk");
        Assert.That(bo.Texts(group), Is.EqualTo(new[] { "the real one" }), "junk is never shown");
        Assert.That(bo.Of<ErrorEvent>(), Is.Empty, "two junk frames cost no error line (a link is cut only past its limit)");
    }

    [Test]
    public async Task GroupJoiner_refuses_a_stranger_to_a_private_group_and_says_how_to_get_in()
    {
        var group = NewGroup("closed");
        var amy = _harness.Start("amy", new JoinRequest(Private: true), group);
        await _harness.UntilAsync(() => amy.Ready(group), "amy created the private group");
        var eve = _harness.Start("eve", group);
        await _harness.UntilAsync(() => eve.Failure is not null, "eve refused");
        Assert.That(eve.Failure, Does.Contain($"group '{group}' is private").And.Contain($"mesh invite {group}"));
        Assert.That(amy.Of<MemberEvent>().Any(m => m.PeerId == eve.PeerId), Is.False);
    }

    [Test]
    public async Task GroupLifecycle_moves_a_group_only_along_its_phases()
    {
        var state = new GroupState("g");
        Assert.That(state.Phase, Is.EqualTo(GroupPhase.Joining));
        Assert.That(() => state.MoveTo(GroupPhase.Live), Throws.InvalidOperationException, "no history shown before it loaded");
        Assert.That(state.MoveTo(GroupPhase.AwaitingAdmission), Is.True);
        Assert.That(state.Connected, Is.False);
        Assert.That(state.MoveTo(GroupPhase.Loading), Is.True);
        Assert.That(state.Connected, Is.True);
        Assert.That(state.HistoryLoaded, Is.False);
        Assert.That(state.MoveTo(GroupPhase.Live), Is.True);
        Assert.That(state.MoveTo(GroupPhase.Leaving), Is.True);
        Assert.That((state.Connected, state.HistoryLoaded, state.Leaving), Is.EqualTo((true, true, true)));
        Assert.That(state.MoveTo(GroupPhase.Left), Is.True);
        Assert.That(state.MoveTo(GroupPhase.Live), Is.False, "a group that left stays left");
        Assert.That((state.Connected, state.Left), Is.EqualTo((false, true)));
        await Task.CompletedTask;
    }
}
