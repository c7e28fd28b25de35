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

    /// <summary>How many messages etcd's history of <paramref name="group"/> holds (a key of a sender's burst holds several).</summary>
    private int StoredMessages(string group)
    {
        var prefix = Mesh.Coordinator.MeshKeys.HistoryPrefix(group);
        return _harness.Etcd.Range(prefix).Values.Sum(v => Mesh.Peer.Protocol.HistoryKey.MessageCount(v.Key[prefix.Length..]));
    }

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

    [Test]
    public async Task A_member_killed_after_a_clean_quit_and_a_return_is_told_as_lost_not_as_exited()
    {
        var group = NewGroup("crash");
        var (amy, bo) = await PairAsync(group);
        bo.Quit();
        await _harness.UntilAsync(() => amy.Of<MemberEvent>().Any(m => !m.Joined && m.PeerId == bo.PeerId), "amy sees bo quit");
        Assert.That(amy.Of<MemberEvent>().Single(m => !m.Joined).Reason, Is.EqualTo(MemberEvent.Exited));
        await _harness.UntilAsync(() => bo.ExitCode is not null, "bo's session ended");
        Assert.That(bo.ExitCode, Is.Zero);

        var back = _harness.Start("bo", group);
        await _harness.UntilAsync(() => back.Ready(group), "bo back");
        await _harness.UntilAsync(() => amy.Of<MemberEvent>().Count(m => m.Joined && m.PeerId == bo.PeerId) == 2, "amy sees bo back");
        await back.CrashAsync();
        await _harness.UntilAsync(() => amy.Of<MemberEvent>().Count(m => !m.Joined && m.PeerId == bo.PeerId) == 2, "amy sees bo gone again");
        Assert.That(amy.Of<MemberEvent>().Last(m => !m.Joined).Reason, Is.EqualTo(MemberEvent.Expired), "a crash after a return is an expiry");
    }

    [Test]
    public async Task A_member_who_leaves_is_told_to_the_others_and_its_session_ends_cleanly()
    {
        var group = NewGroup("leave");
        var (amy, bo) = await PairAsync(group);
        bo.Type("before leaving");
        bo.Type($"/leave {group}");
        await _harness.UntilAsync(() => amy.Of<MemberEvent>().Any(m => m.PeerId == bo.PeerId && m.Reason == MemberEvent.Left), "amy sees bo leave");
        await _harness.UntilAsync(() => bo.Of<MemberEvent>().Any(m => m.PeerId == bo.PeerId && m.Reason == MemberEvent.Left), "bo's own leave said");
        Assert.That(amy.Texts(group), Does.Contain("before leaving"), "what bo sent before leaving stands");
        bo.Type("after leaving");
        bo.Quit();
        await _harness.UntilAsync(() => bo.ExitCode is not null, "bo's session ended");
        Assert.That(bo.ExitCode, Is.Zero);
        Assert.That(amy.Texts(group), Does.Not.Contain("after leaving"));
        Assert.That(bo.Of<ErrorEvent>().Any(e => e.Message.Contains("not in any group")), Is.True, "a line after the leave is refused, and said");
    }

    [Test]
    public async Task An_idle_member_beats_a_few_times_a_minute_and_a_message_lost_after_a_quiet_spell_is_still_found_within_seconds()
    {
        var group = NewGroup("quiet");
        var (amy, bo) = await PairAsync(group);
        var beats = 0;
        _harness.Mesh.Drop = (from, _, _, frame) =>
        {
            if (from == amy.PeerId && Mesh.Peer.Protocol.MemberBeat.IsBeat(frame))
            {
                Interlocked.Increment(ref beats);
            }

            return false;
        };
        var quietFrom = _harness.Time.GetUtcNow();
        await _harness.UntilAsync(() => _harness.Time.GetUtcNow() - quietFrom >= TimeSpan.FromMinutes(2), "two quiet minutes", maxSteps: 600);
        // Once a second would be 120; backing off to one in 16 s leaves a handful.
        Assert.That(beats, Is.InRange(4, 14), "beats of an idle member over two minutes");

        // After the quiet spell, the only message is lost on the way: the beat that follows names it, within seconds.
        _harness.Mesh.Drop = (from, _, _, frame) => from == amy.PeerId && !Mesh.Peer.Protocol.MemberBeat.IsBeat(frame);
        var sentAt = _harness.Time.GetUtcNow();
        amy.Type("lost after a quiet spell");
        await _harness.UntilAsync(() => bo.Texts(group).Contains("lost after a quiet spell"), "bo reads it from history", maxSteps: 40);
        TestContext.Out.WriteLine($"{beats} beats in two quiet minutes; the lost message shown {(_harness.Time.GetUtcNow() - sentAt).TotalSeconds:F2} s after it was sent");
        Assert.That(bo.Texts(group).Count(t => t == "lost after a quiet spell"), Is.EqualTo(1));
    }

    [Test]
    public async Task A_message_lost_on_its_link_is_read_from_history_after_the_senders_beat_names_it()
    {
        var group = NewGroup("sweep");
        var (amy, bo) = await PairAsync(group);
        // The only message, lost on the way: no later message reveals the gap, only amy's beat.
        var lost = 0;
        _harness.Mesh.Drop = (from, to, _, frame) => from == amy.PeerId && !Mesh.Peer.Protocol.MemberBeat.IsBeat(frame) && Interlocked.Increment(ref lost) == 1;
        amy.Type("lost on the link");
        await _harness.UntilAsync(() => bo.Texts(group).Contains("lost on the link"), "bo reads it from history");
        Assert.That(lost, Is.EqualTo(1), "the message frame was dropped");
        Assert.That(bo.Texts(group).Count(t => t == "lost on the link"), Is.EqualTo(1));
    }

    [Test]
    public async Task Two_admins_removing_the_same_member_at_once_commit_one_removal_and_the_group_goes_on_under_a_new_key()
    {
        var group = NewGroup("race");
        var (amy, bo) = await PairAsync(group);
        var cy = _harness.Start("cy", group);
        await _harness.UntilAsync(() => cy.Ready(group), "cy admitted");
        amy.Type("/admin bo");
        await _harness.UntilAsync(() => amy.Of<InfoEvent>().Any(i => i.Message.Contains("may now remove members")), "bo made an admin");
        await _harness.UntilAsync(() => bo.Of<MemberEvent>().Any(m => m.PeerId == cy.PeerId && m.Joined) || bo.Ready(group) && OnlineAt(bo, group).Contains(cy.PeerId), "bo knows cy");

        amy.Type("/remove cy");
        bo.Type("/remove cy");
        await _harness.UntilAsync(() => cy.Of<MemberEvent>().Any(m => m.PeerId == cy.PeerId && m.Reason == MemberEvent.Removed), "cy removed");
        await _harness.UntilAsync(() => new[] { amy, bo }.All(p => p.Of<MemberEvent>().Any(m => m.PeerId == cy.PeerId && m.Reason == MemberEvent.Removed)), "both see it");
        Assert.That(new[] { amy, bo }.Select(p => p.Of<MemberEvent>().Count(m => m.PeerId == cy.PeerId && m.Reason == MemberEvent.Removed)), Is.All.EqualTo(1));

        // Under the new epoch: what amy types after the removal reaches bo, and not cy.
        amy.Type("after the removal");
        await _harness.UntilAsync(() => bo.Texts(group).Contains("after the removal"), "bo reads amy under the new key");
        Assert.That(cy.Texts(group), Does.Not.Contain("after the removal"));
    }

    /// <summary>Members a peer saw come online in a group (ready, then joins).</summary>
    private static HashSet<string> OnlineAt(HarnessPeer peer, string group) =>
        [.. peer.Of<ReadyEvent>().Where(r => r.Group == group).SelectMany(r => r.Peers ?? []).Select(p => p.PeerId)];

    [Test]
    public async Task History_etcd_lost_is_put_back_from_a_members_copy_when_it_joins_again()
    {
        var group = NewGroup("putback");
        var amy = _harness.Start("amy", group);
        await _harness.UntilAsync(() => amy.Ready(group), "amy created the group");
        string[] sent = ["one", "two", "three"];
        foreach (var text in sent)
        {
            amy.Type(text);
        }

        var prefix = Mesh.Coordinator.MeshKeys.HistoryPrefix(group);
        await _harness.UntilAsync(() => StoredMessages(group) == sent.Length, "the three in etcd's history");
        amy.Quit();
        await _harness.UntilAsync(() => amy.ExitCode is not null, "amy's session ended");

        // etcd loses them (a restore from an old backup); amy's copy still holds them.
        foreach (var value in _harness.Etcd.Range(prefix).Values)
        {
            _harness.Etcd.Delete(value.Key);
        }

        var back = _harness.Start("amy", group);
        await _harness.UntilAsync(() => back.Ready(group), "amy back");
        Assert.That(back.Texts(group), Is.EqualTo(sent), "shown from the copy");
        await _harness.UntilAsync(() => StoredMessages(group) == sent.Length, "put back in etcd");
        Assert.That(back.Of<InfoEvent>().Concat<MeshEvent>(back.Of<ErrorEvent>()).Any(e => e.ToString().Contains("put back 3 messages")), Is.True);
    }

    [Test]
    public async Task Lines_typed_while_the_key_of_a_new_epoch_is_on_its_way_are_held_then_sent_in_order_under_it()
    {
        var group = NewGroup("held");
        var (amy, bo) = await PairAsync(group);
        var cy = _harness.Start("cy", group);
        await _harness.UntilAsync(() => cy.Ready(group), "cy admitted");
        await _harness.UntilAsync(() => bo.Of<MemberEvent>().Any(m => m.PeerId == cy.PeerId && m.Joined), "bo knows cy");

        // bo hears of the new epoch before its key: what it types meanwhile waits.
        bo.Watches.Hold();
        amy.Type("/remove cy");
        await _harness.UntilAsync(() => bo.Of<MemberEvent>().Any(m => m.PeerId == cy.PeerId && m.Reason == MemberEvent.Removed), "bo sees cy removed");
        bo.Type("held 1");
        bo.Type("held 2");
        await _harness.UntilAsync(() => bo.Texts(group).Count == 0 && amy.Of<MemberEvent>().Any(m => m.PeerId == cy.PeerId && m.Reason == MemberEvent.Removed),
            "amy sees the removal too");
        for (var i = 0; i < 8; i++)
        {
            _harness.Time.Advance(SessionHarness.Step);
        }

        Assert.That(amy.Texts(group), Is.Empty, "nothing left under the old key, which cy holds");
        Assert.That(bo.Texts(group), Is.Empty, "not shown as sent while held");

        await bo.Watches.ReleaseAsync();
        await _harness.UntilAsync(() => amy.Texts(group).Count == 2, "bo's held lines at amy");
        Assert.That(amy.Texts(group), Is.EqualTo(new[] { "held 1", "held 2" }));
        Assert.That(bo.Texts(group), Is.EqualTo(new[] { "held 1", "held 2" }));
        Assert.That(cy.Texts(group), Is.Empty);
    }

    [Test]
    public async Task An_invitee_to_a_private_group_is_admitted_by_a_member_and_the_invite_admits_once()
    {
        var group = NewGroup("private");
        var amy = _harness.Start("amy", new JoinRequest(Private: true), group);
        await _harness.UntilAsync(() => amy.Ready(group), "amy created the private group");
        var log = new Mesh.Peer.Groups.GroupLogCopy(amy.Home);
        await _harness.UntilAsync(() => log.Load(group) is not null, "amy's copy of the log written");
        using var invite = Mesh.Peer.Groups.Invite.Create(log.Load(group)!.GenesisHash);
        var record = Mesh.Peer.Groups.InviteRecord.Create(group, invite, (_harness.Time.GetUtcNow() + TimeSpan.FromHours(1)).ToUnixTimeMilliseconds(), amy.Identity);
        _harness.Etcd.Put(Mesh.Coordinator.MeshKeys.Invite(group, invite.Id), record);

        var bo = _harness.Start("bo", new JoinRequest(Invite: invite.Code), group);
        await _harness.UntilAsync(() => bo.Ready(group), "bo admitted with the invite");
        await _harness.UntilAsync(() => amy.Of<MemberEvent>().Any(m => m.Joined && m.PeerId == bo.PeerId), "amy sees bo join");

        var eve = _harness.Start("eve", new JoinRequest(Invite: invite.Code), group);
        await _harness.UntilAsync(() => eve.Failure is not null, "eve refused");
        Assert.That(eve.Ready(group), Is.False);
        Assert.That(eve.Failure, Does.Contain("invite: no such invite"), "an invite admits once");
    }

    [Test]
    public async Task A_receiver_whose_wall_clock_steps_back_an_hour_still_reads_from_history_what_its_link_lost()
    {
        var group = NewGroup("stepped");
        var (amy, bo) = await PairAsync(group);
        amy.Type("before the step");
        await _harness.UntilAsync(() => bo.Texts(group).Contains("before the step"), "the first message live");

        // bo's wall clock is set back an hour; then its link from amy loses every message for a while.
        bo.Clock.Step(TimeSpan.FromHours(-1));
        _harness.Mesh.Drop = (from, _, _, frame) => from == amy.PeerId && !Mesh.Peer.Protocol.MemberBeat.IsBeat(frame);
        var lost = Enumerable.Range(0, 20).Select(i => $"lost {i}").ToList();
        foreach (var text in lost)
        {
            amy.Type(text);
        }

        await _harness.UntilAsync(() => StoredMessages(group) == 21, "the 20 in etcd's history");
        _harness.Mesh.Drop = null;
        amy.Type("after");
        await _harness.UntilAsync(() => bo.Texts(group).Count == 22, "every message at bo, from history");
        Assert.That(bo.Texts(group), Is.EqualTo(lost.Prepend("before the step").Append("after")), "each once, in amy's order");
    }

    [Test]
    public async Task A_newcomer_whose_history_read_is_slow_shows_the_history_first_then_what_came_live_meanwhile()
    {
        var group = NewGroup("slow");
        var amy = _harness.Start("amy", group);
        await _harness.UntilAsync(() => amy.Ready(group), "amy created the group");
        var earlier = Enumerable.Range(0, 30).Select(i => $"earlier {i}").ToList();
        foreach (var text in earlier)
        {
            amy.Type(text);
        }

        await _harness.UntilAsync(() => StoredMessages(group) == 30, "the 30 in etcd's history");

        // bo's read of the history is held; amy goes on typing, live, far longer than the orderer's 10 s wait.
        var bo = _harness.StartHoldingHistory("bo", group);
        await _harness.UntilAsync(() => bo.Of<LinksEvent>().Any(l => l.Connected == 1), "bo admitted, linked to amy, reading history");
        var live = Enumerable.Range(0, 5).Select(i => $"live {i}").ToList();
        foreach (var text in live)
        {
            amy.Type(text);
        }

        // 80 ticks (20 s of the clock), each taken by the loops, after amy's five left.
        var steps = 0;
        await _harness.UntilAsync(() => amy.Texts(group).Count(t => t.StartsWith("live ", StringComparison.Ordinal)) == 5 && ++steps > 80,
            "amy's five sent, then 20 s");
        Assert.That(bo.Texts(group), Is.Empty, "nothing live is shown before the history under it");
        bo.History.Open();
        await _harness.UntilAsync(() => bo.Texts(group).Count == 35, "the history, then the live messages");
        Assert.That(bo.Texts(group), Is.EqualTo(earlier.Concat(live)), "history first, then live, in amy's order");
    }

    [Test]
    public async Task A_newcomer_whose_history_read_fails_through_a_cut_retries_until_it_shows_it_all_then_is_ready()
    {
        var group = NewGroup("cutload");
        var amy = _harness.Start("amy", group);
        await _harness.UntilAsync(() => amy.Ready(group), "amy created the group");
        var earlier = Enumerable.Range(0, 20).Select(i => $"earlier {i}").ToList();
        foreach (var text in earlier)
        {
            amy.Type(text);
        }

        await _harness.UntilAsync(() => StoredMessages(group) == 20, "the 20 in etcd's history");
        var bo = _harness.StartHoldingHistory("bo", group);
        bo.History.Cut();
        bo.History.Open();
        await _harness.UntilAsync(() => bo.Of<WaitingEvent>().Any(w => w.Message.Contains("reading", StringComparison.Ordinal)) && bo.History.Failed >= 2,
            "bo told that its read failed, and trying again");
        Assert.That(bo.Of<WaitingEvent>().Count(w => w.Message.Contains("reading", StringComparison.Ordinal)), Is.EqualTo(1), "said once");
        Assert.That(bo.Of<WaitingEvent>().Last().Message, Does.StartWith($"reading '{group}' from etcd failed"), "what it waits for now is the read, not an admission");
        amy.Type("live 0");
        await _harness.UntilAsync(() => amy.Texts(group).Contains("live 0"), "amy sent one live");
        Assert.That(bo.Ready(group), Is.False);
        bo.History.Heal();
        await _harness.UntilAsync(() => bo.Ready(group) && bo.Texts(group).Count == 21, "bo read it all once etcd answered, and is ready");
        Assert.That(bo.Texts(group), Is.EqualTo(earlier.Append("live 0")), "history first, then the live one");
        bo.Type("bo here");
        await _harness.UntilAsync(() => amy.Texts(group).Contains("bo here"), "bo's line reaches amy");
    }

    [Test]
    public async Task A_sender_that_missed_a_key_change_is_read_in_order_under_the_ended_epoch_and_its_link_is_never_quarantined()
    {
        var group = NewGroup("missed");
        var (amy, bo) = await PairAsync(group);
        var dan = _harness.Start("dan", group);
        await _harness.UntilAsync(() => dan.Ready(group) && bo.Of<MemberEvent>().Any(m => m.Joined && m.PeerId == dan.PeerId), "dan admitted, bo knows");

        // bo hears nothing more from etcd (its writes still land): it misses dan's removal and the new key.
        bo.Watches.HoldAll();
        amy.Type("/remove dan");
        await _harness.UntilAsync(() => amy.Of<MemberEvent>().Any(m => m.PeerId == dan.PeerId && m.Reason == MemberEvent.Removed), "amy committed the removal");
        var steps = 0;
        await _harness.UntilAsync(() => ++steps > 40, "10 s after the epoch ended, at amy");

        var lines = Enumerable.Range(0, 600).Select(i => $"bo {i}").ToList();
        foreach (var line in lines)
        {
            bo.Type(line);
        }

        await _harness.UntilAsync(() => amy.Texts(group).Count(t => t.StartsWith("bo ", StringComparison.Ordinal)) == 600, "all of bo's lines at amy");
        Assert.That(amy.Texts(group).Where(t => t.StartsWith("bo ", StringComparison.Ordinal)), Is.EqualTo(lines), "each once, in bo's order");
        Assert.That(amy.Of<ErrorEvent>().Where(e => e.Message.Contains("dropped", StringComparison.Ordinal)), Is.Empty, "bo's link was never cut as junk");
        Assert.That(amy.Of<InfoEvent>().Count(i => i.Message.Contains("still sends under epoch", StringComparison.Ordinal)), Is.EqualTo(1), "said once");
        await bo.Watches.ReleaseAsync();
    }

    [Test]
    public async Task A_restarted_sender_shows_its_last_runs_unwritten_tail_before_its_new_messages_everywhere()
    {
        var group = NewGroup("runs");
        var (amy, bo) = await PairAsync(group);
        bo.Type("before");
        await _harness.UntilAsync(() => amy.Texts(group).Contains("before"), "amy has bo's first line");

        // bo's last lines reach its outbox and are shown as sent, but neither etcd nor amy gets them: then it dies.
        bo.History.HoldWrites();
        var boId = bo.PeerId;
        _harness.Mesh.Drop = (from, _, _, _) => from == boId;
        var tail = Enumerable.Range(0, 20).Select(i => $"tail {i}").ToList();
        foreach (var line in tail)
        {
            bo.Type(line);
        }

        await _harness.UntilAsync(() => bo.Texts(group).Count(t => t.StartsWith("tail ", StringComparison.Ordinal)) == 20, "bo shows its tail as sent");
        await bo.CrashAsync();
        _harness.Mesh.Drop = null;
        Assert.That(amy.Texts(group), Does.Not.Contain("tail 0"));

        var back = _harness.Start("bo", group);
        await _harness.UntilAsync(() => back.Ready(group), "bo back");
        back.Type("new 0");
        back.Type("new 1");
        var expected = new[] { "before" }.Concat(tail).Concat(["new 0", "new 1"]).ToList();
        await _harness.UntilAsync(() => amy.Texts(group).Count == expected.Count, "amy has every line of bo's");
        Assert.That(amy.Texts(group), Is.EqualTo(expected), "the last run's tail before the new run's lines, each once");
        await _harness.UntilAsync(() => back.Texts(group).Count == expected.Count, "bo's view has them all");
        Assert.That(back.Texts(group), Is.EqualTo(expected), "bo shows its last run's tail at start, in its place");
    }
}
