using System.Text;
using Mesh.Peer.Groups;
using Mesh.Peer.Session;
using Mesh.UnitTests.Session.Harness;

namespace Mesh.UnitTests.Session;

/// <summary>Direct messages between whole sessions on the in-memory twins: <c>/msg</c> opens the conversation of two,
/// the other member finds and joins it by itself, a third member of the shared group never reads it, and bad names are
/// one error line each.</summary>
public sealed class DirectMessageSessionTests
{
    private SessionHarness _harness = null!;

    [SetUp]
    public void SetUp() => _harness = new SessionHarness();

    [TearDown]
    public async Task TearDown() => await _harness.DisposeAsync();

    /// <summary>amy, bo and cy in one new open group, all ready and seeing each other.</summary>
    private async Task<(string Group, HarnessPeer Amy, HarnessPeer Bo, HarnessPeer Cy)> ThreeAsync()
    {
        var group = $"team-{Guid.NewGuid():N}"[..16];
        var amy = _harness.Start("amy", group);
        await _harness.UntilAsync(() => amy.Ready(group), "amy created the group");
        var bo = _harness.Start("bo", group);
        var cy = _harness.Start("cy", group);
        await _harness.UntilAsync(() => bo.Ready(group) && cy.Ready(group), "bo and cy admitted");
        return (group, amy, bo, cy);
    }

    [Test]
    public async Task A_direct_message_reaches_its_partner_as_a_group_named_for_the_sender_and_no_one_else()
    {
        var (group, amy, bo, cy) = await ThreeAsync();
        amy.Type("/msg bo psst: only for bo");
        await _harness.UntilAsync(() => amy.Ready("@bo") && bo.Ready("@amy"), "both sides ready in the conversation");
        await _harness.UntilAsync(() => bo.Texts("@amy").Contains("psst: only for bo"), "bo reads it");
        bo.Type("/msg amy and back");
        await _harness.UntilAsync(() => amy.Texts("@bo").Contains("and back"), "amy reads bo's answer");
        amy.Type($"in the group {group}");
        await _harness.UntilAsync(() => cy.Texts(group).Contains($"in the group {group}"), "cy reads the group");

        var dm = DirectName.Of(amy.PeerId, bo.PeerId);
        Assert.That(cy.Events.OfType<MessageEvent>().Where(m => m.Group != group), Is.Empty, "cy never gets a message of the conversation");
        Assert.That(cy.Of<ReadyEvent>().Select(r => r.Group), Is.EqualTo(new[] { group }));
        Assert.That(Directory.EnumerateFiles(cy.Home, "*", SearchOption.AllDirectories).Where(f => f.Contains(dm, StringComparison.Ordinal)), Is.Empty,
            "cy holds no key or copy of it");
        Assert.That(Directory.EnumerateFiles(bo.Home, "*", SearchOption.AllDirectories).Where(f => f.Contains(dm, StringComparison.Ordinal)), Is.Not.Empty,
            "bo holds its key (the test above would pass on nothing otherwise)");
        foreach (var stored in _harness.Etcd.Range("/mesh/").Values)
        {
            Assert.That(Encoding.UTF8.GetString(stored.Value), Does.Not.Contain("only for bo").And.Not.Contain("and back"), $"plaintext in etcd at {stored.Key}");
        }

        Assert.That(_harness.Etcd.Range(Mesh.Coordinator.MeshKeys.HistoryPrefix(dm)).Values, Is.Not.Empty, "the conversation's history is in etcd");
    }

    [Test]
    public async Task A_member_outside_the_pair_cannot_join_the_conversation()
    {
        var (_, amy, bo, cy) = await ThreeAsync();
        amy.Type("/msg bo hello");
        await _harness.UntilAsync(() => bo.Texts("@amy").Contains("hello"), "bo reads it");
        var dm = DirectName.Of(amy.PeerId, bo.PeerId);
        cy.Type($"/join {dm}");
        await _harness.UntilAsync(() => cy.Of<ErrorEvent>().Any(e => e.Message.Contains("direct conversation of two others", StringComparison.Ordinal)), "cy refused");
        Assert.That(cy.Of<ReadyEvent>().Any(r => r.Group.Contains(dm, StringComparison.Ordinal) || r.Group.StartsWith('@')), Is.False);
    }

    [Test]
    public async Task Bad_names_are_one_error_line_each()
    {
        var (_, amy, _, _) = await ThreeAsync();
        amy.Type("/msg zed hi");
        amy.Type("/msg amy hi");
        amy.Type("/msg");
        await _harness.UntilAsync(() => amy.Of<ErrorEvent>().Count(e => e.Message.StartsWith("/msg:", StringComparison.Ordinal)) == 3, "three errors");
        var errors = amy.Of<ErrorEvent>().Where(e => e.Message.StartsWith("/msg:", StringComparison.Ordinal)).Select(e => e.Message).ToList();
        Assert.That(errors[0], Does.Contain("no member named 'zed'"));
        Assert.That(errors[1], Does.Contain("that is you"));
        Assert.That(errors[2], Does.Contain("name the member"));
        Assert.That(amy.Of<ReadyEvent>().Any(r => r.Group.StartsWith('@')), Is.False, "nothing opened");
    }

    [Test]
    public async Task After_a_restart_the_partner_finds_the_conversation_again_with_its_history()
    {
        var (group, amy, bo, _) = await ThreeAsync();
        amy.Type("/msg bo before the restart");
        await _harness.UntilAsync(() => bo.Texts("@amy").Contains("before the restart"), "bo reads it");
        bo.Quit();
        await _harness.UntilAsync(() => bo.ExitCode is not null, "bo's session ended");
        amy.Type("/msg bo while bo was away");
        await _harness.UntilAsync(() => amy.Texts("@bo").Contains("while bo was away"), "amy sent it");

        var back = _harness.Start("bo", group);
        await _harness.UntilAsync(() => back.Ready("@amy"), "bo rejoined the conversation by itself");
        await _harness.UntilAsync(() => back.Texts("@amy").Contains("while bo was away"), "bo reads what came while it was away");
        Assert.That(back.Texts("@amy"), Does.Contain("before the restart"));
    }

    [Test]
    public async Task A_forged_notice_from_a_stranger_is_ignored()
    {
        var (_, amy, bo, _) = await ThreeAsync();
        using var eve = Protocol.Identities.New();
        var forged = GroupCommits.Direct(eve, "eve", new LogMember(bo.PeerId, bo.Identity.SigningPublicKey, bo.Identity.PublicKeyZ85, "bo", Admin: false), 1000);
        var dm = DirectName.Of(eve.PeerId, bo.PeerId);
        _harness.Etcd.Put(Mesh.Coordinator.MeshKeys.Group(dm), forged.Record);
        _harness.Etcd.Put(Mesh.Coordinator.MeshKeys.DirectNotice(bo.PeerId, dm), forged.Record);
        _harness.Etcd.Put(Mesh.Coordinator.MeshKeys.DirectNotice(bo.PeerId, "dm-junk"), "not a genesis"u8.ToArray());
        amy.Type("/msg bo the real one");
        await _harness.UntilAsync(() => bo.Texts("@amy").Contains("the real one"), "bo still follows its notices");
        Assert.That(bo.Of<ReadyEvent>().Select(r => r.Group).Where(g => g.StartsWith('@')), Is.EqualTo(new[] { "@amy" }), "bo joined nothing of eve's");
        Assert.That(bo.Events.Any(e => e.ToString().Contains("@eve", StringComparison.Ordinal)), Is.False);
    }

    [Test]
    public async Task A_notice_waits_for_a_shared_group_joined_later_then_the_conversation_is_joined()
    {
        var (group, amy, bo, _) = await ThreeAsync();
        amy.Type("/msg bo first");
        await _harness.UntilAsync(() => bo.Texts("@amy").Contains("first"), "bo reads it");
        bo.Quit();
        await _harness.UntilAsync(() => bo.ExitCode is not null, "bo's session ended");

        // Back in another group only: amy is in none of bo's groups, so the notice does not vouch for her yet.
        var elsewhere = $"else-{Guid.NewGuid():N}"[..16];
        var back = _harness.Start("bo", elsewhere);
        await _harness.UntilAsync(() => back.Ready(elsewhere), "bo in its other group");
        for (var i = 0; i < 8; i++)
        {
            _harness.Time.Advance(SessionHarness.Step);
        }

        Assert.That(back.Ready("@amy"), Is.False, "not joined while no shared group vouches for amy");
        back.Type($"/join {group}");
        await _harness.UntilAsync(() => back.Ready(group), "bo back in the shared group");
        await _harness.UntilAsync(() => back.Ready("@amy"), "the conversation joined once the shared group vouches for amy");
        await _harness.UntilAsync(() => back.Texts("@amy").Contains("first"), "with its history");
    }

    [Test]
    public async Task Direct_conversations_asked_for_at_start_open_once_the_groups_are_ready()
    {
        var (group, amy, _, _) = await ThreeAsync();
        var dee = _harness.StartWithDirect("dee", ["amy", "zed"], group);
        await _harness.UntilAsync(() => dee.Ready("@amy") && amy.Ready("@dee"), "the conversation of dee and amy, on both sides");
        Assert.That(dee.Ready(group), Is.True);
        Assert.That(dee.Of<ErrorEvent>().Select(e => e.Message).Where(m => m.StartsWith("--dm", StringComparison.Ordinal)),
            Is.EqualTo(new[] { "--dm zed: no member named 'zed' in the groups you are in" }));
        dee.Type("/msg amy hello from the start");
        await _harness.UntilAsync(() => amy.Texts("@dee").Contains("hello from the start"), "amy reads dee");
    }

    [Test]
    public async Task Leaving_a_conversation_is_for_good_and_the_other_member_sees_it()
    {
        var (_, amy, bo, _) = await ThreeAsync();
        amy.Type("/msg bo hello");
        await _harness.UntilAsync(() => bo.Texts("@amy").Contains("hello"), "bo reads it");
        bo.Type("/leave @amy");
        await _harness.UntilAsync(() => amy.Of<MemberEvent>().Any(m => m.Group == "@bo" && m.PeerId == bo.PeerId && m.Reason == MemberEvent.Left), "amy sees bo leave");
        bo.Type("/msg amy again");
        await _harness.UntilAsync(() => bo.Of<ErrorEvent>().Any(e => e.Message.Contains("you left your direct conversation with amy", StringComparison.Ordinal)), "bo told it left");
        Assert.That(amy.Texts("@bo"), Does.Not.Contain("again"));
    }

    [Test]
    public async Task An_open_conversation_goes_on_by_its_label_when_the_shared_group_no_longer_names_the_member()
    {
        var (group, amy, bo, _) = await ThreeAsync();
        amy.Type("/msg bo hello");
        await _harness.UntilAsync(() => bo.Texts("@amy").Contains("hello"), "bo reads it");
        bo.Type($"/leave {group}");
        await _harness.UntilAsync(() => amy.Of<MemberEvent>().Any(m => m.Group == group && m.PeerId == bo.PeerId && m.Reason == MemberEvent.Left), "bo left the group");
        amy.Type("/msg bo still there");
        amy.Type("/msg @bo and by label");
        await _harness.UntilAsync(() => bo.Texts("@amy").Contains("still there") && bo.Texts("@amy").Contains("and by label"), "bo reads both");
        Assert.That(amy.Of<ErrorEvent>().Where(e => e.Message.StartsWith("/msg:", StringComparison.Ordinal)), Is.Empty);
    }

    [Test]
    public async Task After_a_restart_the_one_who_opened_it_finds_it_again_too()
    {
        var (group, amy, bo, _) = await ThreeAsync();
        amy.Type("/msg bo opened by amy");
        await _harness.UntilAsync(() => bo.Texts("@amy").Contains("opened by amy"), "bo reads it");
        amy.Quit();
        await _harness.UntilAsync(() => amy.ExitCode is not null, "amy's session ended");
        bo.Type("/msg amy while amy was away");
        await _harness.UntilAsync(() => bo.Texts("@amy").Contains("while amy was away"), "bo sent it");

        var back = _harness.Start("amy", group);
        await _harness.UntilAsync(() => back.Ready("@bo") && back.Texts("@bo").Contains("while amy was away"), "amy back in the conversation with what came");
        Assert.That(back.Texts("@bo"), Does.Contain("opened by amy"));
    }
}
