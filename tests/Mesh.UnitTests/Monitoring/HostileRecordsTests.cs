using System.Text;
using System.Text.Json;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.Membership;
using Mesh.Monitoring.StatusPage;
using Mesh.Monitoring.Watcher;
using Mesh.Peer.Groups;
using Mesh.Peer.Identity;
using Mesh.UnitTests.Protocol;

namespace Mesh.UnitTests.Monitoring;

/// <summary>Every Mesh user can write any key under <c>/mesh/</c>: whatever is there, the monitor's view takes it, the
/// status page and its state still answer, and the honest peers are still shown as they are.</summary>
[Category("Unit")]
public sealed class HostileRecordsTests
{
    private static readonly PeerIdentity Amy = Identities.New();
    private static readonly PeerIdentity Bob = Identities.New();

    private static readonly string[] JunkValues =
    [
        "", "null", "true", "42", "\"text\"", "[]", "{}", "{", "}", "[[[", "{\"a\":", "\u0000\u0001\u0002",
        "{\"up\":[null]}", "{\"up\":[null],\"down\":[]}", "{\"up\":[],\"down\":[null]}", "{\"up\":[null],\"down\":[null],\"rtt\":null}",
        "{\"up\":[1,2],\"down\":[]}", "{\"up\":\"x\",\"down\":[]}", "{\"up\":[\"\"],\"down\":[\"\"]}", "{\"up\":[[]],\"down\":[{}]}",
        "{\"up\":[\"a\",\"a\",\"a\"],\"down\":[\"a\"]}", "{\"up\":[\"a\"],\"down\":[],\"rtt\":{\"a\":null}}",
        "{\"up\":[\"a\"],\"down\":[],\"rtt\":{\"a\":1e400}}", "{\"up\":[\"a\"],\"down\":[],\"rtt\":{\"a\":-5,\"\":3}}",
        "{\"up\":[\"a\"],\"down\":[],\"rtt\":[1,2]}",
        "{\"peer\":null,\"name\":null,\"key\":null,\"sign\":null,\"endpoint\":null,\"since\":null}",
        "{\"peer\":1,\"name\":2,\"key\":3,\"sign\":4,\"endpoint\":5,\"since\":\"x\"}",
        "{\"peer\":\"fake\",\"name\":[\"a\"],\"key\":\"" + new string('A', 40) + "\",\"sign\":\"" + new string('A', 44) + "\",\"endpoint\":\"x\",\"since\":1}",
        "{\"peer\":\"fake\",\"name\":\"f\",\"key\":\"" + new string('A', 40) + "\",\"sign\":\"" + new string('A', 44) + "\",\"endpoint\":\"x\",\"since\":1e30}",
        "{\"peer\":\"fake\",\"name\":\"f\",\"key\":\"" + new string('A', 40) + "\",\"sign\":\"" + new string('A', 44) + "\",\"endpoint\":\"x\",\"since\":-9223372036854775808,\"g\":null,\"sig\":5}",
        "{\"peer\":\"fake\",\"name\":\"\\u001b[2J\\u202e\",\"key\":\"" + new string('A', 40) + "\",\"sign\":\"" + new string('A', 44) + "\",\"endpoint\":\"\\n\\n\",\"since\":1,\"sig\":\"!!\"}",
        "{\"b\":null}", "{\"b\":5}", "{\"b\":\"not json\"}", "{\"b\":\"[]\"}", "{\"b\":\"{\\\"policy\\\":1}\"}",
        "{\"b\":\"{\\\"policy\\\":\\\"open\\\",\\\"t\\\":\\\"x\\\",\\\"peer_name\\\":{},\\\"check\\\":[]}\"}",
        "{\"policy\":\"open\",\"key_check\":null,\"created_by\":null,\"created_at\":\"x\"}",
        new string('[', 10_000), new string('{', 10_000), "[" + string.Join(",", Enumerable.Repeat("{\"a\":[1,2,3]}", 20_000)) + "]",
        "{\"up\":[" + string.Join(",", Enumerable.Range(0, 50_000).Select(i => $"\"x{i}\"")) + "],\"down\":[]}",
        "{\"up\":[\"" + new string('p', 100_000) + "\"],\"down\":[]}",
        "{\"peer\":\"fake\",\"name\":\"" + new string('n', 1_000_000) + "\"}",
    ];

    /// <summary>Keys of every shape the monitor reads, the ids in them and the ids of the honest peers included.</summary>
    private static readonly string[] JunkKeys =
    [
        MeshKeys.PeersPrefix, MeshKeys.Peer("fake"), MeshKeys.Peer("fake/x"), MeshKeys.Peer(new string('z', 100_000)), MeshKeys.Peer("\u001b[31m"),
        MeshKeys.LinksPrefix, MeshKeys.Links("fake"), MeshKeys.Links(Amy.PeerId), MeshKeys.Links(new string('z', 10_000)),
        MeshKeys.GroupsPrefix, MeshKeys.Group("junk"), MeshKeys.Group("ops"), MeshKeys.Group(new string('g', 100_000)),
        MeshKeys.MembersRoot, MeshKeys.MembersRoot + "g", MeshKeys.MembersRoot + "/x", MeshKeys.MembersRoot + "g/", MeshKeys.Member("ops", "fake"),
        MeshKeys.Member("ops", Bob.PeerId), MeshKeys.Member(new string('g', 100_000), "p"),
        MeshKeys.LeavingPrefix, MeshKeys.Leaving("fake"),
        MeshKeys.HistoryRoot, MeshKeys.HistoryPrefix("ops"), MeshKeys.HistoryPrefix("ops") + "9999999999999", MeshKeys.HistoryRoot + "/1800000000000-x",
        MeshKeys.HistoryPrefix(new string('g', 100_000)) + "1800000000000-x", "/mesh/somewhere/else",
    ];

    private static KeyChange Put(string key, byte[] value, long lease = 7) => new(key, false, value, 1, lease);

    private static KeyChange Signed(PeerIdentity peer, string name, string group = "") =>
        Put(group.Length == 0 ? MeshKeys.Peer(peer.PeerId) : MeshKeys.Member(group, peer.PeerId), MemberSignature.Sign(
            new MemberRecord(peer.PeerId, name, peer.PublicKeyZ85, Convert.ToBase64String(peer.SigningPublicKey), "tcp://127.0.0.1:1", 1) { Group = group }, peer).ToBytes());

    /// <summary>Two honest peers in one group, each seeing the other's link up.</summary>
    private static List<KeyChange> Honest() =>
    [
        Signed(Amy, "amy"), Signed(Bob, "bob"), Signed(Amy, "amy", "ops"), Signed(Bob, "bob", "ops"),
        Put(MeshKeys.Group("ops"), new GroupRecord(1, "amy", GroupRecord.Open, "c").ToBytes(), 0),
        Put(MeshKeys.Links(Amy.PeerId), new LinkStates([Bob.PeerId], []).ToBytes()),
        Put(MeshKeys.Links(Bob.PeerId), new LinkStates([Amy.PeerId], []).ToBytes()),
    ];

    private static MeshView NewView() => new(MemberSignature.IsValid);

    /// <summary>The snapshot serves (as the page and as its JSON state), and the honest peers are in it.</summary>
    private static void AssertPageServes(MeshView view, string what, params string[] honest)
    {
        var snapshot = view.Snapshot();
        Assert.DoesNotThrow(() => JsonSerializer.Serialize(snapshot, new JsonSerializerOptions(JsonSerializerDefaults.Web)), what);
        Assert.DoesNotThrow(() => StatusServer.WithState(Encoding.UTF8.GetBytes("<script src=\"/uplot.js\"></script>"), snapshot), what);
        foreach (var name in honest)
        {
            Assert.That(snapshot.Peers.Any(p => p.Name == name && p.State == PeerVerdict.Healthy), $"{name} is shown healthy after {what}");
        }

        Assert.That(snapshot.Peers.SelectMany(p => new[] { p.Name, p.Endpoint }.Concat(p.Groups).Concat(p.Links.Select(l => l.Name))),
            Has.All.Length.LessThanOrEqualTo(MeshView.MaxShownText + 1), "what the page shows of a record is bounded");
        Assert.That(view.Skipped, Is.EqualTo((0L, 0L)), "every junk value was turned away as it came in, not caught on the way out: " + string.Join(" / ", snapshot.Events.Select(e => e.Text)));
    }

    [Test]
    public void Junk_under_every_key_shape_costs_the_page_nothing_and_the_honest_peers_stay_healthy()
    {
        foreach (var key in JunkKeys)
        {
            foreach (var value in JunkValues)
            {
                var junk = Put(key, Encoding.UTF8.GetBytes(value));
                var loaded = NewView();
                loaded.Load([.. Honest(), junk]);
                AssertPageServes(loaded, $"loading {Shorten(key)} = {Shorten(value)}", "amy", "bob");

                var watched = NewView();
                watched.Load(Honest());
                watched.Apply([junk]);
                watched.Apply([junk with { IsDelete = true, Value = [] }]);
                watched.Apply([junk]);
                AssertPageServes(watched, $"watching {Shorten(key)} = {Shorten(value)}", "amy", "bob");
            }
        }
    }

    [Test]
    public void A_fake_peer_and_a_link_report_up_null_do_not_break_the_page()
    {
        var view = NewView();
        var fake = "{\"peer\":\"fake\",\"name\":\"f\",\"key\":\"" + new string('A', 40) + "\",\"sign\":\"" + new string('A', 44) + "\",\"endpoint\":\"x\",\"since\":1}";
        view.Load([.. Honest(), Put(MeshKeys.Peer("fake"), Encoding.UTF8.GetBytes(fake)),
            Put(MeshKeys.Links("fake"), Encoding.UTF8.GetBytes("{\"up\":[null],\"down\":[]}")),
            Put(MeshKeys.Links(Amy.PeerId), Encoding.UTF8.GetBytes("{\"up\":[null,\"" + Bob.PeerId + "\"],\"down\":[null]}"))]);
        AssertPageServes(view, "the issue's two records", "amy", "bob");
        Assert.That(view.Snapshot().Peers.Single(p => p.Id == "fake").State, Is.EqualTo(PeerVerdict.Unsigned), "the fake is listed, as what it is");
        var amy = view.Snapshot().Peers.Single(p => p.Name == "amy");
        Assert.That(amy.Links.Select(l => (l.Name, l.State)), Is.EqualTo(new[] { ("bob", "up") }), "the nulls are dropped, the rest of the report kept");
    }

    [Test]
    public void Mutated_records_under_every_prefix_cost_the_page_nothing()
    {
        var random = new Random(28);
        var valid = Honest();
        var view = NewView();
        view.Load(valid);
        for (var round = 0; round < 3_000; round++)
        {
            var original = valid[random.Next(valid.Count)];
            var bytes = (byte[])original.Value.Clone();
            switch (round % 4)
            {
                case 0:
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                    break;
                case 1:
                    bytes = bytes[..random.Next(bytes.Length)];
                    break;
                case 2:
                    bytes = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes).Replace("\"" + Bob.PeerId + "\"", "null", StringComparison.Ordinal)
                        .Replace(":1,", ":null,", StringComparison.Ordinal).Replace("\"amy\"", "[]", StringComparison.Ordinal));
                    break;
                default:
                    bytes = new byte[random.Next(0, 400)];
                    random.NextBytes(bytes);
                    break;
            }

            view.Apply([original with { Value = bytes }]);
            var snapshot = view.Snapshot();
            Assert.DoesNotThrow(() => JsonSerializer.Serialize(snapshot, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
            view.Apply([original]);
        }

        AssertPageServes(view, "3,000 mutated records, each put back", "amy", "bob");
    }

    [Test]
    public void Messages_under_any_number_of_group_names_are_counted_under_a_bounded_number_of_names()
    {
        var view = NewView();
        view.Apply(Enumerable.Range(0, MeshView.MaxGroupsCounted + 500)
            .Select(i => Put(MeshKeys.HistoryPrefix($"g{i}") + "1800000000000-p-1-1", [1], 0)).ToList());
        var byGroup = view.MessagesByGroup();
        Assert.That(byGroup, Has.Count.EqualTo(MeshView.MaxGroupsCounted + 1));
        Assert.That(byGroup[MeshView.OtherGroups], Is.EqualTo(500));
    }

    [Test]
    public void The_record_reader_turns_away_oversized_values_unparsed_and_cleans_link_reports()
    {
        Assert.That(RecordReader.ReadLinks(new byte[RecordReader.MaxLinkReportBytes + 1]), Is.Null);
        Assert.That(RecordReader.ReadMember(Encoding.UTF8.GetBytes("{\"peer\":\"" + new string('a', RecordReader.MaxMemberRecordBytes) + "\"}")), Is.Null);
        Assert.That(RecordReader.ReadGroup(new byte[RecordReader.MaxGroupRecordBytes + 1]), Is.Null);
        var tooMany = new LinkStates(Enumerable.Range(0, RecordReader.MaxLinksPerReport + 1).Select(i => $"p{i}").ToList(), []).ToBytes();
        Assert.That(RecordReader.ReadLinks(tooMany), Is.Null, "a report naming more links than any mesh has");

        var cleaned = RecordReader.ReadLinks(Encoding.UTF8.GetBytes("{\"up\":[\"a\",null,\"a\",\"\",\"b\"],\"down\":[\"b\",null],\"rtt\":{\"a\":2.5,\"b\":-1}}"))!;
        Assert.That(cleaned.Up, Is.EqualTo(new[] { "a" }), "each once; b is reported down as well, so down");
        Assert.That(cleaned.Down, Is.EqualTo(new[] { "b" }));
        Assert.That(cleaned.Rtt, Is.EqualTo(new Dictionary<string, double> { ["a"] = 2.5 }));
    }

    private static string Shorten(string text) => text.Length > 60 ? text[..60] + $"…({text.Length})" : text;
}
