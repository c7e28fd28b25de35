using Mesh.Peer.Session;
using Mesh.Peer.Ui;

namespace Mesh.UnitTests.Ui;

[Category("Unit")]
public sealed class ChatModelTests
{
    private static MessageEvent Message(string text, string key) =>
        new("ops", "id-" + text, "amy", text, DateTimeOffset.UnixEpoch, Own: false) { Key = key };

    [Test]
    public void A_message_that_comes_late_takes_its_place_by_key_and_Mesh_lines_stay_where_they_were_said()
    {
        var model = new ChatModel("bo", "abcd");
        model.Apply(Message("first", "0000000000001-a-1-0000000001"), DateTimeOffset.UnixEpoch);
        model.Apply(new ErrorEvent("something said"), DateTimeOffset.UnixEpoch);
        model.Apply(Message("third", "0000000000003-a-1-0000000003"), DateTimeOffset.UnixEpoch);
        model.Apply(Message("second", "0000000000002-a-1-0000000002"), DateTimeOffset.UnixEpoch);
        Assert.That(model.Group("ops").Lines.Select(l => l.Text), Is.EqualTo(new[] { "first", "! something said", "second", "third" }));
    }

    [Test]
    public void Escapes_in_names_and_texts_never_reach_the_screen()
    {
        var model = new ChatModel("bo", "abcd");
        model.Apply(new MessageEvent("ops", "i", "a\u001b[31m", "x\u001b]0;t\u0007y", DateTimeOffset.UnixEpoch, Own: false), DateTimeOffset.UnixEpoch);
        var line = model.Group("ops").Lines.Single();
        Assert.That(line.From + line.Text, Does.Not.Contain("\u001b").And.Not.Contain("\u0007"));
    }

    [Test]
    public void A_full_etcd_stays_in_the_status_bar_until_history_writes_resume()
    {
        var model = new ChatModel("bo", "abcd");
        var full = Mesh.Coordinator.History.HistoryWriter.FullMessage;
        model.Apply(new ErrorEvent($"{full}; 3 sent messages wait in the outbox") { HistoryPaused = true }, DateTimeOffset.UnixEpoch);
        Assert.That(model.StatusLine(), Does.Contain(full));
        model.Apply(new ErrorEvent("something else went wrong"), DateTimeOffset.UnixEpoch);
        Assert.That(model.StatusLine(), Does.Contain(full), "other lines do not clear it");
        model.Apply(new InfoEvent("history writes resumed") { HistoryResumed = true }, DateTimeOffset.UnixEpoch);
        Assert.That(model.StatusLine(), Does.Not.Contain("full").And.Contain("etcd connected"));
    }

    [Test]
    public void History_writes_failing_for_another_reason_do_not_say_etcd_is_full()
    {
        var model = new ChatModel("bo", "abcd");
        model.Apply(new ErrorEvent("history writes failing: etcd unreachable; retrying") { HistoryPaused = true }, DateTimeOffset.UnixEpoch);
        Assert.That(model.StatusLine(), Does.Not.Contain("full"));
    }

    [Test]
    public void A_leave_a_removal_a_clean_exit_and_a_crash_read_differently_and_alone_is_not_0_of_0()
    {
        var model = new ChatModel("amy", "abcd");
        var said = new[] { MemberEvent.Left, MemberEvent.Removed, MemberEvent.Exited, MemberEvent.Expired }
            .Select(reason => ChatModel.Said(new MemberEvent("ops", "bo", "p", false, reason))).ToList();
        Assert.That(said, Is.EqualTo(new[] { "bo left the group", "bo was removed from the group", "bo went offline", "bo lost (lease expired: crashed or cut off)" }));
        Assert.That(model.StatusLine(), Does.Contain("no other member online").And.Not.Contain("0/0"));
        model.Apply(new LinksEvent(1, 2), DateTimeOffset.UnixEpoch);
        Assert.That(model.StatusLine(), Does.Contain("1/2 peers connected"));
    }

    [Test]
    public void Another_home_with_my_name_leaving_is_not_me_leaving_and_does_not_take_me_offline()
    {
        const string me = "894e7285aaaa", other = "70d9bbbb";
        var model = new ChatModel("amy", "894e:7285") { PeerId = me };
        model.Apply(new ReadyEvent("ops", ["amy", "bo"], [new MemberId("amy", me), new MemberId("bo", "5555bo")]), DateTimeOffset.UnixEpoch);
        Assert.That(model.Group("ops").Members.Keys, Is.EqualTo(new[] { "amy", "bo" }), "one amy: her plain name");
        model.Apply(new MemberEvent("ops", "amy#70d9", other, true), DateTimeOffset.UnixEpoch);
        Assert.That(model.Group("ops").Members.Keys, Is.EqualTo(new[] { "amy#70d9", "amy#894e", "bo" }),
            "two amys: both with the fingerprint their peer id starts with, the one who was there first too");
        model.Apply(new MemberEvent("ops", "amy#70d9", other, false, MemberEvent.Exited), DateTimeOffset.UnixEpoch);
        Assert.That(model.Groups.Select(g => g.Name), Is.EqualTo(new[] { "ops" }), "ops stays in my list");
        Assert.That(model.Group("ops").Members["amy#894e"], Is.True, "I am still online");
        Assert.That(model.Group("ops").Members["amy#70d9"], Is.False, "the other amy is not");
        Assert.That(model.Group("ops").Members["bo"], Is.True);

        model.Apply(new MemberEvent("ops", "amy", me, false, MemberEvent.Left), DateTimeOffset.UnixEpoch);
        Assert.That(model.Group("ops").Gone, Is.EqualTo("left"), "my own leave marks the group as no longer mine");
    }

    [Test]
    public void A_removal_is_a_line_saying_who_and_the_group_stays_readable_until_closed()
    {
        var model = new ChatModel("cy", "abcd") { PeerId = "cccc" };
        model.Group("ops");
        model.Apply(Message("before", "0000000000001-a-1-0000000001"), DateTimeOffset.UnixEpoch);
        model.Apply(new ErrorEvent("you were removed from 'ops' by amy") { Group = "ops" }, DateTimeOffset.UnixEpoch);
        model.Apply(new MemberEvent("ops", "cy", "cccc", false, MemberEvent.Removed) { By = "amy" }, DateTimeOffset.UnixEpoch);
        var ops = model.Group("ops");
        Assert.That(model.Current, Is.SameAs(ops), "still shown");
        Assert.That(ops.Lines.Select(l => l.Text), Has.Some.EqualTo("before"), "its history stays");
        Assert.That(ops.Lines[^2].Text, Is.EqualTo("! you were removed from 'ops' by amy"), "who, in the group's view");
        Assert.That(ops.Lines[^1].Text, Does.StartWith("no longer a member of ops: "));
        Assert.That(model.StatusLine(), Does.Contain("ops (not a member: removed by amy)"));
        Assert.That(model.Close("nosuch"), Does.Contain("no view of 'nosuch'"));
        Assert.That(model.Close("ops"), Is.Null, "closed");
        Assert.That(model.Current, Is.Null);
        model.Say("what is said with no group", DateTimeOffset.UnixEpoch);
        Assert.That(model.Shown.IsCore, Is.True);
        Assert.That(model.Shown.Lines.Select(l => l.Text), Has.Some.EqualTo("what is said with no group"), "Mesh's own view answers");
    }

    [Test]
    public void A_member_group_is_not_closed_and_joining_again_shows_history_once()
    {
        var model = new ChatModel("cy", "abcd") { PeerId = "cccc" };
        model.Apply(new ReadyEvent("ops", ["cy"]), DateTimeOffset.UnixEpoch);
        Assert.That(model.Close("ops"), Does.Contain("/leave ops"));
        model.Apply(Message("one", "0000000000001-a-1-0000000001"), DateTimeOffset.UnixEpoch);
        model.Apply(new MemberEvent("ops", "cy", "cccc", false, MemberEvent.Left), DateTimeOffset.UnixEpoch);
        model.Follow("ops");
        model.Apply(Message("one", "0000000000001-a-1-0000000001"), DateTimeOffset.UnixEpoch);
        model.Apply(new ReadyEvent("ops", ["cy"]), DateTimeOffset.UnixEpoch);
        var ops = model.Group("ops");
        Assert.That(ops.Gone, Is.Null);
        Assert.That(ops.Lines.Count(l => l.Text == "one"), Is.EqualTo(1), "the history loaded again is not shown twice");
    }

    [Test]
    public void A_joined_group_is_shown_as_soon_as_it_exists()
    {
        var model = new ChatModel("cy", "abcd");
        model.Apply(new ReadyEvent("ops", ["cy"]), DateTimeOffset.UnixEpoch);
        model.Follow("dev");
        Assert.That(model.Current!.Name, Is.EqualTo("ops"), "nothing of dev yet");
        model.Apply(new WaitingEvent("dev", "waiting for a member of 'dev' to admit you"), DateTimeOffset.UnixEpoch);
        Assert.That(model.Current!.Name, Is.EqualTo("dev"));
        Assert.That(model.StatusLine(), Does.Contain("dev (waiting to be admitted)").And.Contain("etcd connected"));
    }

    [Test]
    public void When_a_second_member_takes_a_name_the_first_ones_earlier_lines_are_relabelled_too()
    {
        var model = new ChatModel("bo", "abcd") { PeerId = "bbbb" };
        model.Apply(new ReadyEvent("ops", ["amy", "bo"], [new MemberId("amy", "70d9aaaa"), new MemberId("bo", "bbbb")]), DateTimeOffset.UnixEpoch);
        model.Apply(Message("from the first amy", "0000000000001-a-1-0000000001") with { PeerId = "70d9aaaa" }, DateTimeOffset.UnixEpoch);
        Assert.That(model.Group("ops").Lines[0].From, Is.EqualTo("amy"));
        model.Apply(new MemberEvent("ops", "amy#894e", "894eeeee", true), DateTimeOffset.UnixEpoch);
        model.Apply(new MessageEvent("ops", "i2", "amy#894e", "from the second", DateTimeOffset.UnixEpoch, false)
            { Key = "0000000000002-b-1-0000000001", PeerId = "894eeeee" }, DateTimeOffset.UnixEpoch);
        var froms = model.Group("ops").Lines.Where(l => l.Kind == ChatLineKind.Message).Select(l => l.From).ToList();
        Assert.That(froms, Is.EqualTo(new[] { "amy#70d9", "amy#894e" }), "every line of each amy reads her label");
    }

    [Test]
    public void Repeated_lines_of_Meshs_fold_and_a_link_going_then_the_member_is_one_line()
    {
        var model = new ChatModel("bo", "abcd");
        model.Apply(new ReadyEvent("ops", ["amy", "bo"]), DateTimeOffset.UnixEpoch);
        var before = model.Group("ops").Lines.Count;
        for (var i = 0; i < 3; i++)
        {
            model.Apply(new ErrorEvent("etcd at 127.0.0.1:2379 unreachable"), DateTimeOffset.UnixEpoch);
        }

        model.Apply(new ConnectionEvent("amy", ConnectionState.Disconnected, Kind: ConnectionKind.Member), DateTimeOffset.UnixEpoch);
        model.Apply(new ConnectionEvent("amy", ConnectionState.Reconnecting, Kind: ConnectionKind.Member), DateTimeOffset.UnixEpoch);
        model.Apply(new MemberEvent("ops", "amy", "aaaa", false, MemberEvent.Expired), DateTimeOffset.UnixEpoch);
        var lines = model.Group("ops").Lines.Skip(before).ToList();
        Assert.That(lines.Select(l => (l.Text, l.Repeats)), Is.EqualTo(new[]
        {
            ("! etcd at 127.0.0.1:2379 unreachable", 3),
            ("amy lost (lease expired: crashed or cut off)", 1),
        }));
        var rows = MessageLayout.Rows(model.Group("ops").Lines, 80, TimeZoneInfo.Utc);
        Assert.That(rows.Select(r => r.Text), Has.Some.EndsWith("unreachable (×3)"));
    }
}
