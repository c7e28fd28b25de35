using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>Replies, reactions, edits and deletes between real peers over real etcd: live, for a late joiner, after a
/// restart and in <c>mesh history</c>, each once and in the group's order; what a member may not do is refused.</summary>
public sealed class ConversationTests : EtcdFixture
{
    [Test]
    public async Task Replies_reactions_edits_and_deletes_reach_everyone_once_and_history_shows_the_final_state()
    {
        var group = NewGroup("talk");
        var amy = StartPeer("amy", group);
        await amy.WaitReadyAsync(group);
        var bo = StartPeer("bo", group);
        await bo.WaitReadyAsync(group);
        await amy.SendAsync("lunch at 12?");
        await amy.SendAsync("typo here");
        await bo.WaitForAsync(p => p.Messages(group).Count == 2, Long, "amy's two messages");
        var lunch = bo.Messages(group)[0].Str("id")!;
        var typo = bo.Messages(group)[1].Str("id")!;

        await bo.SendAsync($"/reply {lunch} yes, at the usual place");
        await bo.SendAsync($"/react {lunch} 👍");
        await amy.SendAsync($"/react {lunch} 👍");
        await bo.SendAsync($"/unreact {lunch} 👍");
        await amy.SendAsync($"/edit {lunch} lunch at 1?");
        await amy.SendAsync($"/delete {typo}");
        // What a member may not do is one error, at the member who typed it, and nothing is sent.
        await bo.SendAsync($"/edit {lunch} bo rewrites amy");
        await bo.SendAsync($"/delete {lunch}");
        await bo.SendAsync("/react nosuchid 👍");
        await bo.SendAsync($"/react {lunch}");
        await bo.SendAsync("marker");
        await amy.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "marker"), Long, "bo's marker");

        Assert.That(bo.Of("error").Select(e => e.Str("message")), Has.Some.Contains("/edit: you can edit only your own messages")
            .And.Some.Contains("/delete: you can delete only your own messages")
            .And.Some.Contains("/react: 'nosuchid' is not a message id")
            .And.Some.Contains("/react: say which emoji"));
        foreach (var peer in new[] { amy, bo })
        {
            var reply = peer.Messages(group).Single(m => m.Str("text") == "yes, at the usual place");
            Assert.That(reply.Str("reply_to"), Is.EqualTo(lunch), "the reply names what it answers");
            var reactions = peer.Of("reaction", group).Select(r => (r.Str("from"), r.Str("emoji"), r.GetProperty("removed").GetBoolean())).ToList();
            Assert.That(reactions, Is.EquivalentTo(new[] { ("bo", "👍", false), ("amy", "👍", false), ("bo", "👍", true) }), "each reaction once");
            Assert.That(reactions.IndexOf(("bo", "👍", true)), Is.GreaterThan(reactions.IndexOf(("bo", "👍", false))), "bo's in the order he sent them");
            Assert.That(peer.Of("reaction", group).Select(r => r.Str("key")).Order(StringComparer.Ordinal),
                Is.EqualTo(amy.Of("reaction", group).Select(r => r.Str("key")).Order(StringComparer.Ordinal)), "the same reactions in every view, each with its place in the group's order");
            Assert.That(peer.Of("edit", group).Select(e => (e.Str("target"), e.Str("text"))), Is.EqualTo(new[] { (lunch, "lunch at 1?") }));
            Assert.That(peer.Of("delete", group).Select(e => (e.Str("target"), e.Str("from"))), Is.EqualTo(new[] { (typo, "amy") }));
            Assert.That(peer.Messages(group).Select(m => m.Str("text")), Has.None.Contains("\u001e").And.None.Contains("bo rewrites"));
        }

        // A late joiner sees the same events from history, and mesh history the final state.
        var cy = StartPeer("cy", group);
        await cy.WaitReadyAsync(group);
        Assert.That(cy.Of("reaction", group).Select(r => r.Str("key")), Is.EqualTo(amy.Of("reaction", group).Select(r => r.Str("key")).Order(StringComparer.Ordinal)),
            "from history, in the group's one order");
        Assert.That(cy.Of("edit", group), Has.Count.EqualTo(1));
        Assert.That(cy.Of("delete", group), Has.Count.EqualTo(1));
        var history = await HistoryAsync(group, cy.Home);
        var final = history.Single(m => m.Str("id") == lunch);
        Assert.That(final.Str("text"), Is.EqualTo("lunch at 1?"));
        Assert.That(final.Str("edited_at"), Is.Not.Null);
        Assert.That(final.GetProperty("reactions").GetProperty("👍").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "amy" }));
        var deleted = history.Single(m => m.Str("id") == typo);
        Assert.That(deleted.GetProperty("deleted").GetBoolean(), Is.True);
        Assert.That(deleted.Str("text"), Is.Empty);
        Assert.That(history.Select(m => m.Str("text")), Is.EqualTo(new[] { "lunch at 1?", "", "yes, at the usual place", "marker" }),
            "each message once, the kinds folded in");
    }
}
