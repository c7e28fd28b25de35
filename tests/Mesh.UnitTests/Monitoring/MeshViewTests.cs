using System.Text;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Membership;
using Mesh.Monitoring.Watcher;

namespace Mesh.UnitTests.Monitoring;

[Category("Unit")]
public sealed class MeshViewTests
{
    private static readonly string Key = new('A', 40);
    private static readonly string Sign = Convert.ToBase64String(new byte[32]);

    private static KeyChange Put(string key, byte[] value) => new(key, false, value, 1, 1);

    private static KeyChange Delete(string key) => new(key, true, [], 2, 0);

    private static KeyChange Peer(string id, string name) =>
        Put(MeshKeys.Peer(id), new MemberRecord(id, name, Key, Sign, "tcp://127.0.0.1:1", 0).ToBytes());

    /// <summary>Answers every lease check the view asked, as the watcher would from etcd; returns those asked.</summary>
    private static List<LeaseCheck> AnswerLeaseChecks(MeshView view, LeaseAnswer answer, string? why = null)
    {
        var asked = new List<LeaseCheck>();
        while (view.LeaseChecks.TryRead(out var check))
        {
            asked.Add(check);
            view.LeaseChecked(check, answer, why);
        }

        return asked;
    }

    private static KeyChange Member(string group, string id) =>
        Put(MeshKeys.Member(group, id), new MemberRecord(id, id, Key, Sign, "tcp://127.0.0.1:1", 0) { Group = group }.ToBytes());

    /// <summary>These tests are about what the view makes of records, not their signatures (see
    /// <see cref="SignedRecordsTests"/>): every record passes.</summary>
    private static bool AnyRecord(MemberRecord record, string group) => true;

    [Test]
    public void A_peer_deleted_after_its_leaving_mark_left_and_one_deleted_without_it_failed()
    {
        var view = new MeshView(AnyRecord);
        view.Load([Peer("p1", "amy"), Peer("p2", "bob")]);
        view.Apply([Put(MeshKeys.Leaving("p1"), []), Delete(MeshKeys.Leaving("p1")), Delete(MeshKeys.Peer("p1"))]);
        view.Apply([Delete(MeshKeys.Peer("p2"))]);
        AnswerLeaseChecks(view, LeaseAnswer.Gone);

        var snapshot = view.Snapshot();
        Assert.That(snapshot.Peers.Select(p => (p.Name, p.State)), Is.EqualTo(new[] { ("bob", PeerVerdict.Failed) }), "the failed one stays listed, the one that left does not");
        Assert.That(snapshot.Peers[0].Cause, Does.StartWith("its lease expired"));
        Assert.That(snapshot.LeaseExpiries, Is.EqualTo(1));
        Assert.That(snapshot.Events.Select(e => e.Text), Is.EqualTo(new[] { "bob (p2) failed: its lease expired", "amy (p1) left" }));
    }

    [Test]
    public void A_peer_the_others_see_down_is_suspect_though_its_own_report_is_all_up()
    {
        var time = new ManualTime(DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000));
        var view = new MeshView(AnyRecord, time);
        view.Load([Peer("p1", "amy"), Peer("p2", "bob"), Peer("p3", "cy"),
            Put(MeshKeys.Links("p1"), new LinkStates(["p2", "p3"], []).ToBytes()),
            Put(MeshKeys.Links("p2"), new LinkStates(["p3"], ["p1"]).ToBytes()),
            Put(MeshKeys.Links("p3"), new LinkStates(["p2"], ["p1"]).ToBytes())]);
        var first = view.Snapshot();
        var amy = first.Peers.Single(p => p.Name == "amy");
        Assert.That(amy.State, Is.EqualTo(PeerVerdict.Suspect));
        Assert.That(amy.SeenDownBy, Is.EqualTo(new[] { "bob", "cy" }));
        Assert.That(amy.StateSince, Is.EqualTo(time.GetUtcNow().ToUnixTimeMilliseconds()));
        Assert.That(first.Peers.Where(p => p.Name != "amy").Select(p => p.State), Is.All.EqualTo(PeerVerdict.Healthy));
        Assert.That(view.Counts().Suspect, Is.EqualTo(1));

        time.Advance(TimeSpan.FromSeconds(30));
        Assert.That(view.Snapshot().Peers.Single(p => p.Name == "amy").StateSince, Is.EqualTo(amy.StateSince), "suspect since the first time seen");
        view.Apply([Put(MeshKeys.Links("p2"), new LinkStates(["p1", "p3"], []).ToBytes()), Put(MeshKeys.Links("p3"), new LinkStates(["p1", "p2"], []).ToBytes())]);
        Assert.That(view.Snapshot().Peers.Single(p => p.Name == "amy").State, Is.EqualTo(PeerVerdict.Healthy));
    }

    [Test]
    public void A_failed_peer_stays_listed_for_the_configured_while_and_goes_when_it_comes_back()
    {
        var time = new ManualTime(DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000));
        var view = new MeshView(AnyRecord, time, keepFailed: TimeSpan.FromMinutes(2));
        view.Load([Peer("p1", "amy"), Peer("p2", "bob"), Member("ops", "p2")]);
        view.Apply([Delete(MeshKeys.Peer("p2"))]);
        AnswerLeaseChecks(view, LeaseAnswer.Gone);
        var bob = view.Snapshot().Peers.Single(p => p.Name == "bob");
        Assert.That(bob.State, Is.EqualTo(PeerVerdict.Failed));
        Assert.That(bob.StateSince, Is.EqualTo(time.GetUtcNow().ToUnixTimeMilliseconds()));
        Assert.That(bob.Groups, Is.EqualTo(new[] { "ops" }), "as it was last seen");

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.That(view.Snapshot().Peers.Select(p => p.Name), Does.Contain("bob"));
        view.Apply([Peer("p2", "bob")]);
        Assert.That(view.Snapshot().Peers.Single(p => p.Name == "bob").State, Is.EqualTo(PeerVerdict.Healthy), "back online: not failed any more");

        view.Apply([Delete(MeshKeys.Peer("p2"))]);
        AnswerLeaseChecks(view, LeaseAnswer.Gone);
        time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
        Assert.That(view.Snapshot().Peers.Select(p => p.Name), Is.EqualTo(new[] { "amy" }), "dropped after the while");
    }

    [Test]
    public void Links_members_and_messages_are_shown_by_name_and_counted_per_second()
    {
        var time = new ManualTime(DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000));
        var view = new MeshView(AnyRecord, time);
        var stored = new List<(string, double)>();
        view.MessageStored += (g, l) => stored.Add((g, l));
        view.Load([Peer("p1", "amy"), Peer("p2", "bob"), Member("ops", "p1"), Member("ops", "p2")]);
        view.Apply([Put(MeshKeys.Links("p1"), new LinkStates(["p2"], ["p9"]).ToBytes())]);
        var sentAt = time.GetUtcNow().ToUnixTimeMilliseconds() - 12;
        view.Apply([
            Put(MeshKeys.HistoryPrefix("ops") + $"{sentAt:D13}-p1-{1:D13}-{1:D10}", [1]),
            Put(MeshKeys.HistoryPrefix("ops") + $"{sentAt:D13}-p1-{1:D13}-{2:D10}", [1]),
            Put(MeshKeys.HistoryPrefix("ops") + "garbage", [1]),
        ]);

        var snapshot = view.Snapshot();
        var amy = snapshot.Peers.Single(p => p.Name == "amy");
        Assert.That(amy.Groups, Is.EqualTo(new[] { "ops" }));
        Assert.That(amy.Links, Is.EqualTo(new[] { new LinkView("p2", "bob", "up"), new LinkView("p9", "p9", "down") }));
        Assert.That(snapshot.LinksDown, Is.EqualTo(1));
        Assert.That(view.Counts(), Is.EqualTo((Peers: 2, Groups: 1, Members: 2, LinksDown: 1, Suspect: 0, Unsigned: 0)), "the gauges agree with the page");
        Assert.That(snapshot.Groups.Single().Members, Is.EqualTo(new[] { "amy", "bob" }));
        Assert.That(snapshot.Groups.Single().MessagesSeen, Is.EqualTo(2));
        Assert.That(snapshot.Series.Rate[^1], Is.EqualTo(2));
        Assert.That(snapshot.Series.LatencyP99[^1], Is.EqualTo(12));
        Assert.That(snapshot.Series.Rate, Has.Count.EqualTo(MeshView.WindowSeconds));
        Assert.That(stored, Is.EqualTo(new[] { ("ops", 12.0), ("ops", 12.0) }));

        // Minutes later the burst has left the window.
        time.Advance(TimeSpan.FromSeconds(MeshView.WindowSeconds + 1));
        Assert.That(view.Snapshot().Series.Rate.Sum(), Is.Zero);
    }

    [Test]
    public void An_endpoint_that_turns_unhealthy_and_back_is_an_event_each_time()
    {
        var view = new MeshView(AnyRecord);
        view.SetEndpoint(new EndpointHealth("http://e1", true, true, 1, 1, "3.4", null, "1"));
        view.SetEndpoint(new EndpointHealth("http://e1", false, false, 0, 2000, null, "no answer within 2 s", null));
        view.SetEndpoint(new EndpointHealth("http://e1", true, false, 1, 1, "3.4", null, "1"));

        Assert.That(view.Snapshot().Events.Select(e => e.Text), Is.EqualTo(new[]
        {
            "etcd http://e1 healthy again", "etcd http://e1 unhealthy: no answer within 2 s", "etcd http://e1 is the leader now",
        }), "the leader as first seen; a follower after the outage is no leader event");
        view.SetEndpoint(new EndpointHealth("http://e2", true, true, 1, 1, "3.4", null, "2"));
        Assert.That(view.Snapshot().Events[0].Text, Is.EqualTo("etcd http://e2 is the leader now"));
        Assert.That(view.Snapshot().Events[0].Kind, Is.EqualTo(MeshEventKinds.EtcdLeader));
    }

    [Test]
    public void Links_that_go_down_and_come_back_are_events_and_joins_and_departures_are_not_link_events()
    {
        var view = new MeshView(AnyRecord);
        view.Load([Peer("p1", "amy"), Peer("p2", "bob"), Peer("p3", "cy"), Put(MeshKeys.Links("p1"), new LinkStates(["p2"], []).ToBytes())]);
        view.Apply([Put(MeshKeys.Links("p1"), new LinkStates(["p2"], ["p3"]).ToBytes())]);
        view.Apply([Put(MeshKeys.Links("p1"), new LinkStates(["p2", "p3"], []).ToBytes())]);
        Assert.That(view.Snapshot().Events, Is.Empty, "a member's link connecting as it joins is no event");
        view.Apply([Put(MeshKeys.Links("p1"), new LinkStates(["p2"], ["p3"]).ToBytes())]);
        view.Apply([Put(MeshKeys.Links("p1"), new LinkStates(["p3"], ["p2"]).ToBytes())]);
        var events = view.Snapshot().Events;
        Assert.That(events.Select(e => (e.Kind, e.Text)), Is.EquivalentTo(new[]
        {
            (MeshEventKinds.LinkDown, "link amy → cy down"), (MeshEventKinds.LinkDown, "link amy → bob down"), (MeshEventKinds.LinkUp, "link amy → cy up again"),
        }));
        Assert.That(events.Select(e => e.Time).Distinct().Count(), Is.EqualTo(3), "each event at its own millisecond");

        view.Apply([Put(MeshKeys.Leaving("p3"), []), Put(MeshKeys.Links("p1"), new LinkStates(["p2"], ["p3"]).ToBytes())]);
        Assert.That(view.Snapshot().Events.Count(e => e.Text == "link amy → cy down"), Is.EqualTo(1), "cy is leaving: her departure says it");
    }

    [Test]
    public void A_report_naming_many_links_makes_a_bounded_number_of_events()
    {
        var many = Enumerable.Range(0, 500).Select(i => $"x{i}").ToList();
        var view = new MeshView(AnyRecord);
        view.Load([Peer("p1", "amy"), .. many.Select(id => Peer(id, id)), Put(MeshKeys.Links("p1"), new LinkStates(many, []).ToBytes())]);
        view.Apply([Put(MeshKeys.Links("p1"), new LinkStates([], many).ToBytes())]);
        Assert.That(view.Snapshot().Events, Has.Count.EqualTo(32));
    }

    [Test]
    public void Round_trips_from_the_reports_and_figures_from_InfluxDB_are_on_each_peer()
    {
        var view = new MeshView(AnyRecord);
        view.Load([Peer("p1", "amy"), Peer("p2", "bob"), Put(MeshKeys.Links("p1"), (new LinkStates(["p2"], []) { Rtt = new Dictionary<string, double> { ["p2"] = 0.42 } }).ToBytes())]);
        view.SetPeerFigures(new Dictionary<string, PeerFigures> { ["p1"] = new(1.5, 9.0, 3, 1000) });
        var amy = view.Snapshot().Peers.Single(p => p.Name == "amy");
        Assert.That(amy.Links.Single().RttMs, Is.EqualTo(0.42));
        Assert.That(amy.Figures, Is.EqualTo(new PeerFigures(1.5, 9.0, 3, 1000)));
        Assert.That(view.Snapshot().Peers.Single(p => p.Name == "bob").Figures, Is.Null);
    }

    [Test]
    public void Messages_in_history_are_counted_at_load_and_followed_by_creations_and_deletions()
    {
        var view = new MeshView(AnyRecord);
        view.Load([Put(MeshKeys.Group("g"), new Mesh.Coordinator.Groups.GroupRecord(1, "amy", "open", "c").ToBytes())]);
        view.SetHistoryCounts(new Dictionary<string, long> { ["g"] = 40 });
        var key = MeshKeys.HistoryPrefix("g") + "1800000000000-p1-1-1";
        view.Apply([new KeyChange(key, false, [], 3, 0, Version: 1), new KeyChange(key, false, [], 4, 0, Version: 2)]);
        Assert.That(view.Snapshot().Groups.Single().InHistory, Is.EqualTo(41), "a rewrite of the same key is not another message");
        view.Apply([Delete(key), Delete(MeshKeys.HistoryPrefix("g") + "1800000000001-p1-1-2")]);
        Assert.That(view.Snapshot().Groups.Single().InHistory, Is.EqualTo(39));
    }

    [Test]
    public void Events_read_back_are_merged_in_time_order_without_doubles_and_bounded()
    {
        var time = new ManualTime(DateTimeOffset.FromUnixTimeMilliseconds(2_000_000));
        var view = new MeshView(AnyRecord, time);
        view.AddEvent("monitor started");
        view.Restore([new MeshEventView(1_000_000, "bob (p2) failed: its lease expired", MeshEventKinds.LeaseExpired),
            new MeshEventView(1_000_000, "bob (p2) failed: its lease expired", MeshEventKinds.LeaseExpired),
            new MeshEventView(999_000, new string('x', 5000), MeshEventKinds.Monitor),
            new MeshEventView(998_000, "a kind nobody writes", "forged")]);
        var events = view.Snapshot().Events;
        Assert.That(events.Select(e => e.Text.Length > 50 ? "long" : e.Text), Is.EqualTo(new[] { "monitor started", "bob (p2) failed: its lease expired", "long" }));
        Assert.That(events[2].Text, Has.Length.LessThanOrEqualTo(MeshView.MaxEventText + 1));
        view.Restore(Enumerable.Range(0, 1000).Select(i => new MeshEventView(i, $"e{i}", MeshEventKinds.Monitor)));
        Assert.That(view.Snapshot().Events, Has.Count.EqualTo(200));
    }

    [Test]
    public void A_presence_record_deleted_while_its_lease_lives_is_told_as_such_and_not_called_failed()
    {
        var view = new MeshView(AnyRecord);
        view.Load([Peer("p1", "amy"), Peer("p2", "bob") with { Lease = 42 }, Member("ops", "p2")]);
        view.Apply([Delete(MeshKeys.Peer("p2"))]);
        var checking = view.Snapshot().Peers.Single(p => p.Name == "bob");
        Assert.That((checking.State, checking.Cause), Is.EqualTo((PeerVerdict.Deleted, "its presence record went: checking whether its lease expired")),
            "nothing is said of its lease before etcd is asked");

        Assert.That(AnswerLeaseChecks(view, LeaseAnswer.Alive), Is.EqualTo(new[] { new LeaseCheck("p2", 42) }), "the lease its record lived under");
        var snapshot = view.Snapshot();
        var bob = snapshot.Peers.Single(p => p.Name == "bob");
        Assert.That(bob.State, Is.EqualTo(PeerVerdict.Deleted));
        Assert.That(bob.Cause, Does.StartWith("its presence record was deleted while its lease lives (etcd writer?)"));
        Assert.That(bob.Groups, Is.EqualTo(new[] { "ops" }));
        Assert.That(snapshot.LeaseExpiries, Is.Zero);
        Assert.That(snapshot.Events.Select(e => (e.Kind, e.Text)), Is.EqualTo(new[] { (MeshEventKinds.PeerDeleted, "bob (p2): presence record deleted while its lease lives (etcd writer?)") }));
        Assert.That(snapshot.Events.Select(e => e.Text), Has.None.Contains("failed"));
        Assert.That(view.Counts().Peers, Is.EqualTo(1));

        view.Apply([Peer("p2", "bob")]);
        Assert.That(view.Snapshot().Peers.Single(p => p.Name == "bob").State, Is.EqualTo(PeerVerdict.Healthy), "its record back: online again");
    }

    [Test]
    public void A_lease_etcd_cannot_be_asked_about_is_said_unknown_and_an_answer_after_the_peer_is_back_is_ignored()
    {
        var view = new MeshView(AnyRecord);
        view.Load([Peer("p1", "amy") with { Lease = 5 }, Peer("p2", "bob") with { Lease = 6 }]);
        view.Apply([Delete(MeshKeys.Peer("p1"))]);
        AnswerLeaseChecks(view, LeaseAnswer.Unknown, "no answer within 3 s");
        var amy = view.Snapshot().Peers.Single(p => p.Name == "amy");
        Assert.That((amy.State, amy.Cause), Is.EqualTo((PeerVerdict.Deleted, "its presence record went; whether its lease expired is unknown (etcd: no answer within 3 s)")));

        view.Apply([Delete(MeshKeys.Peer("p2"))]);
        view.Apply([Peer("p2", "bob")]);
        AnswerLeaseChecks(view, LeaseAnswer.Gone);
        Assert.That(view.Snapshot().Peers.Single(p => p.Name == "bob").State, Is.EqualTo(PeerVerdict.Healthy), "back before the answer came");
        Assert.That(view.LeaseExpiries, Is.Zero);
    }

    [Test]
    public void A_presence_record_put_without_a_lease_and_deleted_is_no_lease_expiry_and_asks_nothing()
    {
        var view = new MeshView(AnyRecord);
        view.Load([Peer("p1", "amy") with { Lease = 0 }]);
        view.Apply([Delete(MeshKeys.Peer("p1"))]);
        Assert.That(view.LeaseChecks.TryRead(out _), Is.False);
        var amy = view.Snapshot().Peers.Single();
        Assert.That((amy.State, amy.Cause), Is.EqualTo((PeerVerdict.Deleted, "its presence record was deleted; it had no lease to expire (an etcd writer?)")));
        Assert.That(view.LeaseExpiries, Is.Zero);
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
