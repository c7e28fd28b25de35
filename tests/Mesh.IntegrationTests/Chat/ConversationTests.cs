using System.Globalization;
using Google.Protobuf;
using Mesh.Coordinator;
using Mesh.Peer.Crypto;
using Mesh.Peer.Identity;
using Mesh.Peer.Protocol;
using Mesh.IntegrationTests.Security;
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
        // Each sender's last word, after its kinds: a view holding both markers holds everything sent before them.
        await bo.SendAsync("marker");
        await amy.SendAsync("amy's marker");
        foreach (var peer in new[] { amy, bo })
        {
            await peer.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "marker") && p.Messages(group).Any(m => m.Str("text") == "amy's marker"),
                Long, "both markers");
        }

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

        // After a restart, from the copy: the same events, each once.
        await bo.DisposeAsync();
        var boBack = StartPeer("bo", [group], bo.Home);
        await boBack.WaitReadyAsync(group, Long);
        Assert.That(boBack.Of("reaction", group).Select(r => r.Str("key")), Is.EqualTo(cy.Of("reaction", group).Select(r => r.Str("key"))));
        Assert.That(boBack.Of("edit", group).Select(e => e.Str("id")), Is.EqualTo(cy.Of("edit", group).Select(e => e.Str("id"))));
        Assert.That(boBack.Of("delete", group).Select(e => e.Str("id")), Is.EqualTo(cy.Of("delete", group).Select(e => e.Str("id"))));
        Assert.That(boBack.Messages(group).Select(m => m.Str("id")), Is.EqualTo(cy.Messages(group).Select(m => m.Str("id"))));

        var history = await HistoryAsync(group, cy.Home);
        var final = history.Single(m => m.Str("id") == lunch);
        Assert.That(final.Str("text"), Is.EqualTo("lunch at 1?"));
        Assert.That(final.Str("edited_at"), Is.Not.Null);
        Assert.That(final.GetProperty("reactions").GetProperty("👍").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "amy" }));
        var deleted = history.Single(m => m.Str("id") == typo);
        Assert.That(deleted.GetProperty("deleted").GetBoolean(), Is.True);
        Assert.That(deleted.Str("text"), Is.Empty);
        // In the group's order: amy's two first (bo answered after he saw them); what the two sent after that may
        // interleave either way, the same in every view.
        Assert.That(history.Select(m => m.Str("text")).Take(2), Is.EqualTo(new[] { "lunch at 1?", "" }), "in the group's order");
        Assert.That(history.Select(m => m.Str("key")), Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
        Assert.That(history.Select(m => m.Str("text")), Is.EquivalentTo(new[] { "lunch at 1?", "", "yes, at the usual place", "marker", "amy's marker" }),
            "each message once, the kinds folded in");
    }

    [Test]
    public async Task An_edit_and_a_delete_of_anothers_message_written_straight_to_etcd_are_refused_by_every_reader()
    {
        var group = NewGroup("forge");
        var amy = StartPeer("amy", group);
        await amy.WaitReadyAsync(group);
        var bo = StartPeer("bo", group);
        await bo.WaitReadyAsync(group);
        await amy.SendAsync("amy's words");
        await bo.WaitForAsync(p => p.Messages(group).Count == 1, Long, "amy's message");
        var target = bo.Messages(group)[0].Str("id")!;

        // Bo's home in an attacker's hands: a reaction (anyone may), an edit and a delete of amy's message, sealed under
        // the group's key and signed with bo's own key, in a new run, put straight into etcd's history.
        using var writer = new EtcdWriter(Etcd);
        var log = await writer.LogAsync(group);
        var run = long.Parse(File.ReadAllText(Path.Combine(bo.Home, "epoch")).Trim(), CultureInfo.InvariantCulture) + 1;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using (var identity = IdentityStore.LoadOrCreate(bo.Home))
        {
            var epoch = log.CurrentEpoch.Number;
            var key = new EpochKeyring(bo.Home).TryGet(group, epoch)!;
            var records = new[]
            {
                new KindRecord(MessageKind.React, target, "🎉"), new KindRecord(MessageKind.Edit, target, "bo rewrote this"),
                new KindRecord(MessageKind.Delete, target, ""),
            };
            for (var i = 0; i < records.Length; i++)
            {
                var e = new Envelope(group, identity.PeerId, run, i + 1, "bo", now + i, KindText.Encode(records[i]), now + i);
                await writer.Connection.KV.PutAsync(new Etcdserverpb.PutRequest
                {
                    Key = ByteString.CopyFromUtf8(MeshKeys.HistoryPrefix(group) + e.HistoryName),
                    Value = ByteString.CopyFrom(EnvelopeCodec.Seal(e, key, identity, keyEpoch: epoch, logHead: log.Head)),
                });
            }
        }

        var cy = StartPeer("cy", group);
        await cy.WaitReadyAsync(group);
        Assert.That(cy.Of("reaction", group).Select(r => r.Str("emoji")), Is.EqualTo(new[] { "🎉" }), "the forged entries were read: the reaction is bo's to give");
        Assert.That(cy.Of("edit", group), Is.Empty, "an edit not by the author is refused");
        Assert.That(cy.Of("delete", group), Is.Empty, "a delete by a plain member of another's message is refused");
        Assert.That(cy.Messages(group).Single().Str("text"), Is.EqualTo("amy's words"));
        var history = await HistoryAsync(group, cy.Home);
        Assert.That(history.Single().Str("text"), Is.EqualTo("amy's words"));
        Assert.That(history.Single().TryGetProperty("deleted", out _), Is.False);
    }

    [Test]
    public async Task A_deleted_message_is_gone_from_etcd_every_copy_and_history_and_a_restore_from_an_older_snapshot_does_not_bring_it_back()
    {
        var group = NewGroup("erase");
        var (amy, bo) = await StartPairAsync(group, "amy", "bo");
        await amy.SendAsync("the password is hunter2");
        await amy.SendAsync("kept");
        await bo.WaitForAsync(p => p.Messages(group).Count == 2, Long, "amy's two messages");
        var secret = bo.Messages(group)[0];
        var id = secret.Str("id")!;
        var sealedText = await SealedTextAsync(group, secret.Str("key")!);
        Assert.That(await HeldInEtcdAsync(group, sealedText), Is.True, "the text is in etcd before the delete");
        var snapshot = Path.Combine(Path.GetTempPath(), $"mesh-snap-{Guid.NewGuid():N}.db");
        Etcd.SnapshotSave(snapshot);
        try
        {
            await amy.SendAsync($"/delete {id}");
            await bo.WaitForAsync(p => p.Of("delete", group).Count == 1, Long, "the delete");
            await Waiting.UntilAsync(async () => !await HeldInEtcdAsync(group, sealedText), Long, "the text out of etcd");
            await Waiting.UntilAsync(() => !InCopy(amy.Home, group, sealedText) && !InCopy(bo.Home, group, sealedText), Long, "the text out of both copies");
            var history = await HistoryAsync(group, bo.Home);
            Assert.That(history.Select(m => (m.Str("text"), m.TryGetProperty("deleted", out var d) && d.GetBoolean())),
                Is.EqualTo(new[] { ("", true), ("kept", false) }));

            // A late joiner reads the tombstone: the message, deleted, once; and the delete once.
            var cy = StartPeer("cy", group);
            await cy.WaitReadyAsync(group);
            Assert.That(cy.Messages(group).Select(m => (m.Str("id"), m.Str("text"), m.TryGetProperty("deleted", out var d) && d.GetBoolean())),
                Is.EqualTo(new[] { (id, "", true), (bo.Messages(group)[1].Str("id"), "kept", false) }));
            Assert.That(cy.Of("delete", group).Select(e => e.Str("target")), Is.EqualTo(new[] { id }));
            await cy.DisposeAsync();

            // etcd goes back to before the delete: the members' copies hold the tombstone and the delete, and whoever
            // reads the text back from etcd takes it out again.
            await bo.DisposeAsync();
            await amy.DisposeAsync();
            await Etcd.RestoreAsync(snapshot);
            Assert.That(await HeldInEtcdAsync(group, sealedText), Is.True, "the restore brought the text back into etcd");
            var boBack = StartPeer("bo", [group], bo.Home);
            await boBack.WaitReadyAsync(group, Long);
            await Waiting.UntilAsync(async () => !await HeldInEtcdAsync(group, sealedText), Long, "the text out of etcd again");
            Assert.That(boBack.Messages(group).Single(m => m.Str("id") == id).Str("text"), Is.Empty);
            Assert.That(InCopy(boBack.Home, group, sealedText), Is.False);
            var after = await HistoryAsync(group, boBack.Home);
            Assert.That(after.Single(m => m.Str("id") == id).GetProperty("deleted").GetBoolean(), Is.True);
        }
        finally
        {
            File.Delete(snapshot);
        }
    }

    [Test]
    public async Task A_reply_to_a_message_beyond_retention_still_names_it_and_shows_alone()
    {
        var group = NewGroup("beyond");
        var amy = Track(PeerProcess.Start(Etcd.Url, "amy", [group], null, "--keep", "3"));
        await amy.WaitReadyAsync(group, Long);
        await amy.SendAsync("the old question");
        await amy.WaitForAsync(p => p.Messages(group).Count == 1, Long, "the question");
        var question = amy.Messages(group)[0].Str("id")!;
        foreach (var line in new[] { $"/reply {question} the answer", "later 1", "later 2" })
        {
            var before = amy.Messages(group).Count;
            await amy.SendAsync(line);
            await amy.WaitForAsync(p => p.Messages(group).Count == before + 1, Long, line);
        }

        // The group keeps the newest three: a late joiner and mesh history show the reply, naming what it answers,
        // and not the question.
        var bo = StartPeer("bo", group);
        await bo.WaitReadyAsync(group, Long);
        Assert.That(bo.Messages(group).Select(m => (m.Str("text"), m.Str("reply_to"))),
            Is.EqualTo(new[] { ("the answer", question), ("later 1", null), ("later 2", null) }));
        var history = await HistoryAsync(group, bo.Home);
        Assert.That(history.Select(m => m.Str("text")), Is.EqualTo(new[] { "the answer", "later 1", "later 2" }));
        Assert.That(history[0].Str("reply_to"), Is.EqualTo(question));
    }

    /// <summary>The sealed text (ciphertext) of the message stored under <paramref name="name"/>, alone or in a burst.</summary>
    private async Task<byte[]> SealedTextAsync(string group, string name)
    {
        foreach (var key in await HistoryKeysAsync(group))
        {
            if (HistoryKey.TryExpand(key)?.FirstOrDefault(m => m.Name == name) is { } message)
            {
                return EnvelopeCodec.TryParse(message.Value)!.Ciphertext;
            }
        }

        throw new AssertionException($"no history key holds {name}");
    }

    private async Task<bool> HeldInEtcdAsync(string group, byte[] sealedText) =>
        (await HistoryKeysAsync(group)).Any(k => k.Value.AsSpan().IndexOf(sealedText) >= 0);

    private async Task<List<Mesh.Coordinator.History.HistoryEntry>> HistoryKeysAsync(string group)
    {
        using var connection = new Mesh.Coordinator.Etcd.EtcdConnection([Etcd.Url]);
        var keys = new List<Mesh.Coordinator.History.HistoryEntry>();
        await new Mesh.Coordinator.History.EtcdHistoryStore(connection).ReadAsync(group, page =>
        {
            keys.AddRange(page);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        return keys;
    }

    private static bool InCopy(string home, string group, byte[] sealedText) =>
        File.ReadAllBytes(Path.Combine(home, "history", group + ".log")).AsSpan().IndexOf(sealedText) >= 0;
}
