using Mesh.Peer.Cli;
using Mesh.Peer.Groups;
using Mesh.Peer.Headless;
using Mesh.Peer.Identity;
using Mesh.Peer.Protocol;
using Mesh.Peer.Session;
using Mesh.Peer.Ui;

namespace Mesh.UnitTests.Protocol;

[Category("Unit")]
public sealed class MessageKindTests
{
    private static readonly string Amy = new('a', 32);
    private static readonly string Bo = new('b', 32);
    private static readonly string AmysFirst = $"{Amy}:1000:1";

    private static Envelope From(string peer, long seq, string text, long at = 0) =>
        new("ops", peer, 1000, seq, peer == Amy ? "amy" : "bo", 1_800_000_000_000 + seq + at, text, 1_800_000_000_000 + seq + at);

    [Test]
    public void Every_kind_round_trips_and_bad_records_are_not_kinds()
    {
        foreach (var record in new[]
                 {
                     new KindRecord(MessageKind.Reply, AmysFirst, "yes, at noon"), new KindRecord(MessageKind.React, AmysFirst, "👍"),
                     new KindRecord(MessageKind.Unreact, AmysFirst, "👨‍👩‍👧"), new KindRecord(MessageKind.Edit, AmysFirst, "new\ntext"),
                     new KindRecord(MessageKind.Delete, AmysFirst, ""),
                 })
        {
            Assert.That(KindText.TryParse(KindText.Encode(record)), Is.EqualTo(record));
        }

        Assert.That(KindText.TryParse("/react x 👍"), Is.Null, "typed text is never a kind");
        Assert.That(KindText.TryParse($"\u001e/react {AmysFirst} "), Is.Null, "an empty emoji");
        Assert.That(KindText.TryParse($"\u001e/react {AmysFirst} two words"), Is.Null);
        Assert.That(KindText.TryParse($"\u001e/react {AmysFirst} {new string('x', 65)}"), Is.Null, "longer than a reaction");
        Assert.That(KindText.TryParse("\u001e/edit notanid text"), Is.Null);
        Assert.That(KindText.TryParse($"\u001e/delete {AmysFirst} leftover"), Is.Null);
        Assert.That(KindText.TryParse($"\u001e/vote {AmysFirst} yes"), Is.Null);
        Assert.That(KindText.Describe($"\u001e/vote {AmysFirst} yes"), Does.Contain("'vote'").And.Contain("cannot show"), "a kind not known is said in words");
        Assert.That(KindText.Describe("\u001e/\u001b[31m x"), Does.Contain("an unknown kind").And.Not.Contain("\u001b"));
    }

    [Test]
    public void An_edit_by_anyone_but_the_author_and_a_delete_by_anyone_but_the_author_or_an_admin_are_refused()
    {
        using var amy = Identities.New();
        using var bo = Identities.New();
        var log = GroupLog.TryStart("ops", GroupCommits.Genesis("ops", LogEntry.Open, amy, "amy", 1).Record, out var error) ?? throw new AssertionException(error);
        var amysMessage = $"{amy.PeerId}:1000:1";
        var bosMessage = $"{bo.PeerId}:1000:1";
        Envelope By(PeerIdentity who, string text) => new("ops", who.PeerId, 1000, 2, "x", 1, text, 1);

        Assert.That(Conversation.Interpret(log, By(bo, KindText.Encode(new(MessageKind.Edit, amysMessage, "forged"))), "bo", false), Is.Null, "bo edits amy's");
        Assert.That(Conversation.Interpret(log, By(bo, KindText.Encode(new(MessageKind.Delete, amysMessage, ""))), "bo", false), Is.Null, "bo deletes amy's");
        Assert.That(Conversation.Interpret(log, By(amy, KindText.Encode(new(MessageKind.Edit, amysMessage, "better"))), "amy", false), Is.TypeOf<EditEvent>());
        Assert.That(Conversation.Interpret(log, By(amy, KindText.Encode(new(MessageKind.Delete, bosMessage, ""))), "amy", false), Is.TypeOf<DeleteEvent>(),
            "the creator moderates");
        Assert.That(Conversation.Interpret(log, By(bo, KindText.Encode(new(MessageKind.Delete, bosMessage, ""))), "bo", false), Is.TypeOf<DeleteEvent>());
        Assert.That(Conversation.Interpret(log, By(bo, KindText.Encode(new(MessageKind.React, amysMessage, "🎉"))), "bo", false),
            Is.EqualTo(new ReactionEvent("ops", $"{bo.PeerId}:1000:2", amysMessage, "bo", "🎉", false, DateTimeOffset.FromUnixTimeMilliseconds(1))
                { Key = By(bo, "").HistoryName, PeerId = bo.PeerId }));
    }

    [Test]
    public void History_prints_each_message_once_in_its_final_state()
    {
        using var amy = Identities.New();
        var log = GroupLog.TryStart("ops", GroupCommits.Genesis("ops", LogEntry.Open, amy, "amy", 1).Record, out var error) ?? throw new AssertionException(error);
        var first = From(Amy, 1, "lunch at 12?");
        var finals = HistoryFold.Apply(log,
        [
            first,
            From(Bo, 2, KindText.Encode(new(MessageKind.Reply, first.Id, "yes"))),
            From(Bo, 3, KindText.Encode(new(MessageKind.React, first.Id, "👍"))),
            From(Amy, 4, KindText.Encode(new(MessageKind.React, first.Id, "👍"))),
            From(Bo, 5, KindText.Encode(new(MessageKind.Unreact, first.Id, "👍"))),
            From(Amy, 6, KindText.Encode(new(MessageKind.Edit, first.Id, "lunch at 1?"))),
            From(Bo, 7, KindText.Encode(new(MessageKind.Edit, first.Id, "forged by bo"))),
            From(Bo, 8, "gone soon"),
            From(Bo, 9, KindText.Encode(new(MessageKind.Delete, $"{Bo}:1000:8", ""))),
        ]);
        Assert.That(finals.Select(f => f.Text), Is.EqualTo(new[] { "lunch at 1?", "yes", "" }), "kinds folded in, not printed");
        Assert.That(finals[0].EditedAt, Is.Not.Null);
        Assert.That(finals[0].Reactions.Single().Emoji, Is.EqualTo("👍"));
        Assert.That(finals[0].Reactions.Single().From, Is.EqualTo(new[] { "amy" }), "bo took his back");
        Assert.That(finals[1].ReplyTo, Is.EqualTo(first.Id));
        Assert.That(finals[2].Deleted?.By, Is.EqualTo("bo"));
    }

    [Test]
    public void Headless_lines_for_each_kind()
    {
        using var reaction = System.Text.Json.JsonDocument.Parse(EventJson.ToLine(new ReactionEvent("ops", "r1", AmysFirst, "bo", "👍", false, DateTimeOffset.UnixEpoch)));
        Assert.That(reaction.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "type", "group", "id", "target", "from", "emoji", "removed", "sent_at" }));
        Assert.That(reaction.RootElement.GetProperty("type").GetString(), Is.EqualTo("reaction"));
        Assert.That(reaction.RootElement.GetProperty("emoji").GetString(), Is.EqualTo("👍"));
        Assert.That(reaction.RootElement.GetProperty("removed").GetBoolean(), Is.False);
        Assert.That(EventJson.ToLine(new EditEvent("ops", "e1", AmysFirst, "amy", "new", DateTimeOffset.UnixEpoch)), Does.Contain("\"type\":\"edit\"").And.Contain("\"text\":\"new\""));
        Assert.That(EventJson.ToLine(new DeleteEvent("ops", "d1", AmysFirst, "amy", DateTimeOffset.UnixEpoch)), Does.Contain("\"type\":\"delete\"").And.Contain($"\"target\":\"{AmysFirst}\""));
        Assert.That(EventJson.ToLine(new MessageEvent("ops", "m2", "bo", "yes", DateTimeOffset.UnixEpoch, false) { ReplyTo = AmysFirst }), Does.Contain($"\"reply_to\":\"{AmysFirst}\""));
    }

    [Test]
    public void The_chat_screen_shows_a_reply_with_its_quote_reactions_under_the_message_an_edit_marked_and_a_delete_said()
    {
        var model = new ChatModel("amy", "abcd");
        model.Apply(new ReadyEvent("ops", ["amy", "bo"]), DateTimeOffset.UnixEpoch);
        var first = From(Amy, 1, "lunch at 12?");
        model.Apply(new MessageEvent("ops", first.Id, "amy", first.Text, first.SentAt, true) { Key = first.HistoryName }, DateTimeOffset.UnixEpoch);
        model.Apply(new MessageEvent("ops", "b1", "bo", "yes", first.SentAt, false) { Key = From(Bo, 2, "").HistoryName, ReplyTo = first.Id }, DateTimeOffset.UnixEpoch);
        model.Apply(new MessageEvent("ops", "b2", "bo", "and this?", first.SentAt, false) { Key = From(Bo, 3, "").HistoryName, ReplyTo = $"{Amy}:1:999" }, DateTimeOffset.UnixEpoch);
        model.Apply(new ReactionEvent("ops", "r", first.Id, "bo", "👍", false, first.SentAt), DateTimeOffset.UnixEpoch);
        model.Apply(new ReactionEvent("ops", "r2", first.Id, "amy", "👍", false, first.SentAt), DateTimeOffset.UnixEpoch);
        model.Apply(new EditEvent("ops", "e", first.Id, "amy", "lunch at 1?", first.SentAt), DateTimeOffset.UnixEpoch);
        model.Apply(new DeleteEvent("ops", "d", "b1", "bo", first.SentAt), DateTimeOffset.UnixEpoch);
        var rows = MessageLayout.Rows(model.Group("ops").Lines, 80, TimeZoneInfo.Utc).Select(r => r.Text.TrimEnd()).ToList();
        Assert.That(rows, Has.Some.EndsWith("amy: lunch at 1? (edited)"));
        Assert.That(rows, Has.Some.EqualTo("      👍 2 bo, amy"));
        Assert.That(rows, Has.Some.EndsWith("bo: message deleted by bo"));
        Assert.That(rows, Has.Some.EqualTo("      ↪ a message you cannot see"), "a reply to a message beyond retention");
        Assert.That(rows, Has.None.Contains("\u001e"));
    }

    [Test]
    public void A_member_reacting_without_end_costs_a_bounded_row_and_each_reaction_finds_its_message_by_id()
    {
        var model = new ChatModel("amy", "abcd");
        model.Apply(new ReadyEvent("ops", ["amy", "bo"]), DateTimeOffset.UnixEpoch);
        for (var i = 1; i <= 20_000; i++)
        {
            var e = From(Amy, i, "m" + i);
            model.Apply(new MessageEvent("ops", e.Id, "amy", e.Text, e.SentAt, false) { Key = e.HistoryName }, DateTimeOffset.UnixEpoch);
        }

        var first = From(Amy, 1, "").Id;
        for (var i = 0; i < 20_000; i++)
        {
            model.Apply(new ReactionEvent("ops", "r" + i, first, "bo" + (i % 500), "e" + (i % 1000), false, DateTimeOffset.UnixEpoch), DateTimeOffset.UnixEpoch);
        }

        var line = model.Group("ops").ById[first];
        Assert.That(line.Reactions, Has.Count.EqualTo(ChatModel.MaxReactions), "different reactions bounded");
        Assert.That(line.Reactions.Sum(r => r.From.Count), Is.LessThanOrEqualTo(KindText.MaxReactions * KindText.MaxReactors));
        Assert.That(model.Group("ops").Lines, Has.Count.EqualTo(20_000 + model.Group("ops").Lines.Count(l => l.Kind == ChatLineKind.System)));
    }
}
