using Mesh.Coordinator;
using Mesh.Peer.Protocol;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>A group's retention, with real etcd and peers: exactly what lies beyond it goes, from etcd and from every
/// view; an etcd writer's junk, a member's fast clock or a member's own deletes cannot take what it keeps.</summary>
public sealed class RetentionTests : EtcdFixture
{
    private static readonly Dictionary<string, string> Trimming = new() { ["MESH_TRIM_INTERVAL"] = "2s" };

    private static Dictionary<string, string> Skewed(string offset, bool trimming = false)
    {
        var environment = SkewedClock.Environment(offset);
        if (trimming)
        {
            environment["MESH_TRIM_INTERVAL"] = "2s";
        }

        return environment;
    }

    /// <summary>The history keys of <paramref name="group"/> in etcd, by name below the prefix.</summary>
    private List<string> Keys(string group)
    {
        var prefix = MeshKeys.HistoryPrefix(group);
        var (code, output) = Etcd.Etcdctl("get", prefix, "--prefix", "--keys-only");
        Assert.That(code, Is.EqualTo(0), output);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(k => k[prefix.Length..]).ToList();
    }

    /// <summary>The messages etcd's history keys hold, by name: a key of a sender's burst holds those of
    /// <paramref name="known"/> (message keys as views show them) its name claims; any other key is its own message.</summary>
    private List<string> MessagesInEtcd(string group, IReadOnlyCollection<string> known)
    {
        var held = new List<string>();
        foreach (var key in Keys(group))
        {
            if (!key.Contains(HistoryKey.CountMark, StringComparison.Ordinal))
            {
                held.Add(key);
                continue;
            }

            Assert.That(HistoryKey.TryParse(key, out var peer, out var epoch, out var first, out var last), Is.True, key);
            held.AddRange(known.Where(k => HistoryKey.TryParse(k, out var p, out var e, out var seq, out _) && p == peer && e == epoch && seq >= first && seq <= last));
        }

        return [.. held.Distinct().Order(StringComparer.Ordinal)];
    }

    [Test]
    public async Task A_count_keeps_exactly_the_newest_messages_in_etcd_history_joiners_and_restarts_and_junk_does_not_count()
    {
        var group = NewGroup("keep");
        var amy = Track(PeerProcess.Start(Etcd.Url, "amy", [group], null, Trimming, "--keep", "10"));
        await amy.WaitReadyAsync(group, Long);
        var bo = Track(PeerProcess.Start(Etcd.Url, "bo", [group], null, Trimming));
        await bo.WaitReadyAsync(group, Long);
        await amy.WaitForAsync(p => OnlineNames(p, group).Contains("bo"), Long, "bo online");

        // An etcd writer's records under the history prefix, sorting after every message, one naming bo: if they
        // counted, they would push members' messages out of the ten kept.
        var junk = Enumerable.Range(0, 20).Select(i => $"9999999999999-{bo.PeerId}-{1:D13}-{i + 1:D10}").ToList();
        foreach (var name in junk)
        {
            Assert.That(Etcd.Etcdctl("put", MeshKeys.HistoryPrefix(group) + name, "junk").ExitCode, Is.EqualTo(0));
        }

        // Three bursts of eight (each shown at bo before the next is typed): each is one history key or a few.
        for (var burst = 0; burst < 3; burst++)
        {
            await amy.SendManyAsync(Enumerable.Range(burst * 8, 8).Select(i => $"m {i:D2}"));
            await bo.WaitForAsync(p => Texts(p, group).Count(t => t.StartsWith("m ", StringComparison.Ordinal)) == (burst + 1) * 8, Long, "amy's burst at bo");
        }

        // Bo has seen all of amy's before he marks: his marker's order stamp follows them (a hybrid clock).
        var marker = await MarkAsync(bo, group, amy);
        var all = amy.Messages(group).OrderBy(m => m.Str("key"), StringComparer.Ordinal).ToList();
        Assert.That(all, Has.Count.EqualTo(25));
        var kept = all.TakeLast(10).ToList();
        var bound = kept[0].Str("key")!;
        var known = all.Select(m => m.Str("key")!).ToList();

        // A key goes once every message it holds lies beyond the newest ten: the first burst (m 00 to m 07) goes whole,
        // the one that holds the bound stays whole (its older messages no view shows), and nothing kept goes.
        bool IsJunk(string k) => k.StartsWith("9999", StringComparison.Ordinal);
        await Waiting.UntilAsync(() => Keys(group).Where(k => !IsJunk(k)).All(k => string.CompareOrdinal(k, bound) >= 0), Long,
            "members to delete every key beyond the newest 10", () => amy.Tail() + bo.Tail());
        var inEtcd = Keys(group);
        var held = MessagesInEtcd(group, known);
        Assert.That(kept.Select(m => m.Str("key")), Is.SubsetOf(held), "every one of the newest ten is left");
        Assert.That(held.Intersect(known.Take(8)), Is.Empty, "the first burst, wholly beyond the ten, went");
        Assert.That(held.Count(k => !IsJunk(k) && string.CompareOrdinal(k, bound) < 0), Is.LessThan(8), "what is left beyond the ten shares a key with the bound");
        Assert.That(inEtcd.Where(junk.Contains).ToList(), Has.Count.EqualTo(20), "junk after the bound is not a member's to judge: left, and not counted");

        var keptTexts = kept.Select(m => m.Str("text")!).ToList();
        Assert.That(keptTexts[^1], Is.EqualTo(marker), "sent after bo saw the rest, the marker is the newest");
        Assert.That((await HistoryAsync(group, bo.Home)).Select(m => m.Str("text")), Is.EqualTo(keptTexts), "mesh history");
        var cy = StartPeer("cy", group);
        await cy.WaitReadyAsync(group, Long);
        Assert.That(Texts(cy, group), Is.EqualTo(keptTexts), "a joiner");

        await amy.CloseAsync();
        var again = Track(PeerProcess.Start(Etcd.Url, "amy", [group], amy.Home, Trimming));
        await again.WaitReadyAsync(group, Long);
        Assert.That(Texts(again, group), Is.EqualTo(keptTexts), "a restart from the local copy");
        Assert.That(again.Of("error", group).Select(e => e.Str("message")), Has.None.Contains("putting back"), "what was deleted is not taken for lost");
    }

    [Test]
    public async Task An_age_deletes_what_is_older_and_a_member_whose_clock_runs_ahead_deletes_nothing_kept()
    {
        var group = NewGroup("age");
        var amy = Track(PeerProcess.Start(Etcd.Url, "amy", [group], null, "--keep", "7d"));
        await amy.WaitReadyAsync(group, Long);

        // A member whose clock is ten days behind: its messages are stamped beyond the seven days kept.
        var past = Track(PeerProcess.Start(Etcd.Url, "past", [group], null, Skewed("-10d")));
        await past.WaitReadyAsync(group, Long);
        await past.SendManyAsync(Enumerable.Range(0, 5).Select(i => $"old {i}"));
        await amy.WaitForAsync(p => Texts(p, group).Count(t => t.StartsWith("old ", StringComparison.Ordinal)) == 5, Long, "the old ones shown live");
        await past.CloseAsync();
        await amy.SendManyAsync(["today 1", "today 2"]);
        await Waiting.UntilAsync(() => Etcd.CountMessages(MeshKeys.HistoryPrefix(group)) == 7, Long, "all seven in etcd");

        // Amy trims only every ten minutes. A member whose clock is thirty days ahead joins, trimming every 2 s: by
        // its clock everything is older than seven days, but it never deletes past the newest message others sent.
        var fast = Track(PeerProcess.Start(Etcd.Url, "fast", [group], null, Skewed("+30d", trimming: true)));
        await fast.WaitReadyAsync(group, Long);
        await Waiting.UntilAsync(() => Etcd.CountMessages(MeshKeys.HistoryPrefix(group)) <= 2, Long, "the fast member to delete the ten-day-old messages", () => fast.Tail());

        var today = amy.Messages(group).Where(m => m.Str("text")!.StartsWith("today", StringComparison.Ordinal)).Select(m => m.Str("key")!).ToList();
        Assert.That(MessagesInEtcd(group, today), Is.EqualTo(today), "one delete took everything older than seven days and nothing younger");
        Assert.That((await HistoryAsync(group, amy.Home)).Select(m => m.Str("text")), Is.EqualTo(new[] { "today 1", "today 2" }));
        var joiner = StartPeer("jo", group);
        await joiner.WaitReadyAsync(group, Long);
        Assert.That(Texts(joiner, group), Is.EqualTo(new[] { "today 1", "today 2" }));
    }

    [Test]
    public async Task Kept_messages_deleted_behind_the_policy_are_put_back_by_a_member_and_what_lies_beyond_it_is_not()
    {
        var group = NewGroup("putback");
        var amy = Track(PeerProcess.Start(Etcd.Url, "amy", [group], null, "--keep", "5"));
        await amy.WaitReadyAsync(group, Long);
        // Sent one at a time: eight keys (a burst's key would hold messages on both sides of the bound).
        foreach (var i in Enumerable.Range(0, 8))
        {
            await amy.SendAsync($"n {i}");
            await amy.WaitForAsync(p => Texts(p, group).Contains($"n {i}"), Long, $"n {i} sent");
        }

        await Waiting.UntilAsync(() => Keys(group).Count == 8, Long, "eight in etcd");
        var keys = amy.Messages(group).Select(m => m.Str("key")!).Order(StringComparer.Ordinal).ToList();
        await amy.CloseAsync();

        // Someone with etcd access (a member among them) deletes every message, kept or not.
        Assert.That(Etcd.Etcdctl("del", MeshKeys.HistoryPrefix(group), "--prefix").ExitCode, Is.EqualTo(0));

        var again = Track(PeerProcess.Start(Etcd.Url, "amy", [group], amy.Home));
        await again.WaitReadyAsync(group, Long);
        await Waiting.UntilAsync(() => Keys(group).Count == 5, Long, "the five kept put back", () => again.Tail());
        Assert.That(Keys(group), Is.EqualTo(keys.TakeLast(5)), "the newest five, not the three beyond the policy");
        Assert.That(Texts(again, group), Is.EqualTo(Enumerable.Range(3, 5).Select(i => $"n {i}")));
        Assert.That((await HistoryAsync(group, amy.Home)).Select(m => m.Str("text")), Is.EqualTo(Enumerable.Range(3, 5).Select(i => $"n {i}")));
    }
}
