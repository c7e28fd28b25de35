using System.Text;
using System.Text.Json;
using Mesh.Coordinator;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Identity;
using Mesh.Testing;
using NetMQ;
using NSec.Cryptography;

namespace Mesh.IntegrationTests.Security;

/// <summary>An adversary who can write etcd (as every Mesh user can) against real etcd and unmodified peers: rewritten
/// genesis and policy, replayed log entries, forged member records, pre-written grants, racing invite redeemers.</summary>
[Category("Integration")]
public sealed class GroupLogAttackTests : EtcdFixture
{
    [Test]
    public async Task A_flipped_or_re_signed_policy_of_a_private_group_gives_an_outsider_no_key_and_the_members_go_on()
    {
        var group = NewGroup("flip");
        var ownerHome = NewHome("owner");
        var owner = StartPeer("owner", [group], ownerHome, "--private");
        await owner.WaitReadyAsync(group);
        var member = StartInvited("member", group, await InviteAsync(group, ownerHome));
        await member.WaitReadyAsync(group, Long);
        await owner.SendAsync("secret before");
        await member.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "secret before"), Long, "first message");
        var genuine = Value(MeshKeys.Group(group));

        // The policy edited in place (the creator's signature no longer holds): members put the genuine one back.
        Put(MeshKeys.Group(group), genuine.Replace("\\u0022policy\\u0022:\\u0022private\\u0022", "\\u0022policy\\u0022:\\u0022open\\u0022")
            .Replace("\\\"policy\\\":\\\"private\\\"", "\\\"policy\\\":\\\"open\\\""));
        await Waiting.UntilAsync(() => Value(MeshKeys.Group(group)) == genuine, Long, "the genesis put back");

        // With every member offline, a genesis of the attacker's own, policy open; an outsider joins; the owner restarts.
        using var attacker = NewIdentity();
        Assert.That(await owner.CloseAsync(), Is.EqualTo(0));
        var memberHome = member.Home;
        Assert.That(await member.CloseAsync(), Is.EqualTo(0));
        Put(MeshKeys.Group(group), Encoding.UTF8.GetString(GroupCommits.Genesis(group, LogEntry.Open, attacker, "owner", 1).Record));
        var outsiderHome = NewHome("outsider");
        var outsider = StartPeer("outsider", [group], outsiderHome);
        await Waiting.UntilAsync(() => outsider.Exited || outsider.Of("waiting", group).Count > 0, Long, "the outsider waits or is refused");
        owner = StartPeer("owner", [group], ownerHome);
        await owner.WaitReadyAsync(group, Long);
        await owner.WaitForAsync(p => p.Of("error").Any(e => e.Str("message")!.Contains("genesis")), Long, "the owner reports the rewritten genesis");
        await Waiting.UntilAsync(() => Value(MeshKeys.Group(group)) == genuine, Long, "the genesis put back again");
        member = StartPeer("member", [group], memberHome);
        await member.WaitReadyAsync(group, Long);

        await owner.SendAsync("secret after");
        await member.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "secret after"), Long, "the members go on");
        await member.SendAsync("reply after");
        await owner.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "reply after"), Long, "and back");

        // No key of the group reached the outsider, by grant or otherwise; its history shows nothing.
        var ownerKey = EpochKey(ownerHome, group, 1);
        Assert.That(KeyMaterial(outsiderHome, group), Does.Not.Contain(ownerKey));
        Assert.That(outsider.Events.Any(e => e.Str("text")?.StartsWith("secret", StringComparison.Ordinal) == true), Is.False);
        var (_, history, _) = await MeshCli.RunAsync("history", group, "--json", "--etcd", Etcd.Url, "--home", outsiderHome);
        Assert.That(history, Does.Not.Contain("secret"));

        // The outsider, which first read the attacker's genesis, does not fight the members over it: the genesis was
        // written a handful of times (create, two attacks, their repairs), not in a loop.
        var (_, json) = Etcd.Etcdctl("get", MeshKeys.Group(group), "-w", "json");
        var version = JsonDocument.Parse(json).RootElement.GetProperty("kvs")[0].GetProperty("version").GetInt64();
        Assert.That(version, Is.LessThanOrEqualTo(8), "writes of the genesis key");
    }

    [Test]
    public async Task A_grant_written_in_advance_with_the_attackers_key_is_refused_and_the_joiner_gets_the_groups_key()
    {
        var group = NewGroup("pregrant");
        var founderHome = NewHome("founder");
        var founder = StartPeer("founder", [group], founderHome);
        await founder.WaitReadyAsync(group);
        await founder.SendAsync("history for the joiner");
        await founder.WaitForAsync(p => p.Messages(group).Count == 1, Long, "sent");

        // The joiner's identity is public once it exists; the attacker wraps its own key to it, signed by itself.
        var joinerHome = NewHome("joiner");
        string joinerId;
        using (var joinerIdentity = IdentityStore.LoadOrCreate(joinerHome))
        using (var attacker = NewIdentity())
        using (var attackerKey = GroupKey.Create())
        {
            joinerId = joinerIdentity.PeerId;
            Put(MeshKeys.Grant(group, joinerId, 1), Encoding.UTF8.GetString(KeyGrant.Create(attackerKey, group, 1, joinerId, joinerIdentity.Certificate.PublicKey, attacker)));
        }

        var joiner = StartPeer("joiner", [group], joinerHome);
        await joiner.WaitReadyAsync(group, Long);
        await joiner.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "history for the joiner"), Long, "history opened with the group's key");
        Assert.That(joiner.Of("error").Count(e => e.Str("message")!.Contains("grant for epoch 1 was refused")), Is.EqualTo(1));
        Assert.That(EpochKey(joinerHome, group, 1), Is.EqualTo(EpochKey(founderHome, group, 1)));
        await joiner.SendAsync("from the joiner");
        await founder.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "from the joiner"), Long, "the founder reads the joiner");
    }

    [Test]
    public async Task A_replayed_log_entry_is_rejected_once_by_each_member_and_the_next_change_replaces_it()
    {
        var group = NewGroup("replaylog");
        var a = StartPeer("anna", group);
        await a.WaitReadyAsync(group);
        var b = StartPeer("bert", group);
        await b.WaitReadyAsync(group, Long);
        var first = Value(MeshKeys.LogEntry(group, 1));

        // Entry 1 copied to index 2, and the genesis copied to index 3: replayed, reordered.
        Put(MeshKeys.LogEntry(group, 2), first);
        Put(MeshKeys.LogEntry(group, 3), Value(MeshKeys.Group(group)));
        foreach (var peer in new[] { a, b })
        {
            await peer.WaitForAsync(p => p.Of("error").Any(e => e.Str("message")!.Contains("entry 2 of the group log rejected")), Long, $"{peer.Name} rejects entry 2");
        }

        var c = StartPeer("cleo", group);
        await c.WaitReadyAsync(group, Long);
        await a.SendAsync("after the replay");
        await c.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "after the replay"), Long, "the newcomer reads the group");
        var entry = LogEntry.TryParse(Encoding.UTF8.GetBytes(Value(MeshKeys.LogEntry(group, 2))), out _);
        Assert.That(entry?.Op, Is.EqualTo(LogOp.Add), "the junk at index 2 was replaced by a real addition");
        Assert.That(entry!.Peer, Is.EqualTo(c.PeerId));
        foreach (var peer in new[] { a, b })
        {
            Assert.That(peer.Of("error").Count(e => e.Str("message")!.Contains("entry 2 of the group log rejected")), Is.EqualTo(1), $"{peer.Name}: one error");
        }
    }

    [Test]
    public async Task Forged_member_records_are_ignored_with_bounded_warnings_and_links_stay_where_they_were()
    {
        var group = NewGroup("forge");
        var (a, b) = await StartPairAsync(group, "anna", "bert");
        var key = MeshKeys.Member(group, b.PeerId);
        var record = JsonDocument.Parse(Value(key)).RootElement;
        await using var rogue = await RoguePublisher.StartAsync(Etcd, group);
        for (var i = 0; i < 50; i++)
        {
            // B's record, pointed at the rogue's endpoint and renamed: the signature no longer holds.
            var forged = new Dictionary<string, object?>();
            foreach (var p in record.EnumerateObject())
            {
                forged[p.Name] = p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetInt64() : p.Value.GetString();
            }

            forged["endpoint"] = rogue.Endpoint;
            forged["name"] = $"bert{i}";
            Put(key, JsonSerializer.Serialize(forged));
        }

        await a.SendAsync("after the forgery");
        await b.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "after the forgery"), Long, "b still reads a");
        await b.SendAsync("b still here");
        await a.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "b still here"), Long, "a still reads b");
        Assert.That(a.Events.Any(e => e.Str("name")?.StartsWith("bert", StringComparison.Ordinal) == true && e.Str("name") != "bert"), Is.False);
        var warnings = File.ReadAllLines(a.StderrPath).Count(l => l.Contains("not signed by its peer"));
        Assert.That(warnings, Is.InRange(1, 2), "one rate-limited warning for 50 forged records");
    }

    [Test]
    public async Task Two_redeemers_racing_for_one_invite_get_one_admission()
    {
        var group = NewGroup("race");
        var ownerHome = NewHome("owner");
        var owner = StartPeer("owner", [group], ownerHome, "--private");
        await owner.WaitReadyAsync(group);
        var code = await InviteAsync(group, ownerHome);
        var first = StartInvited("first", group, code);
        var second = StartInvited("second", group, code);
        await Waiting.UntilAsync(() => (first.Of("ready", group).Count > 0 || first.Exited) && (second.Of("ready", group).Count > 0 || second.Exited), Long,
            "both redeemers settled", () => first.Tail() + second.Tail());
        var winners = new[] { first, second }.Where(p => p.Of("ready", group).Count > 0).ToList();
        Assert.That(winners, Has.Count.EqualTo(1));
        var loser = first == winners[0] ? second : first;
        Assert.That(loser.Exited, Is.True);
        Assert.That(File.ReadAllText(loser.StderrPath), Does.Contain("just used").Or.Contain("no such invite"));
        owner.SendAsync("/members").Wait();
        await owner.WaitForAsync(p => p.Of("members", group).Count > 0, Long, "/members");
        Assert.That(owner.Of("members", group)[0].GetProperty("members").GetArrayLength(), Is.EqualTo(2));
    }

    [Test]
    public async Task A_member_cannot_add_a_peer_without_its_consent_and_the_real_peer_is_admitted()
    {
        var group = NewGroup("forced");
        var owner = StartPeer("owner", group);
        await owner.WaitReadyAsync(group);
        var mallory = StartPeer("mallory", group);
        await mallory.WaitReadyAsync(group, Long);
        var malloryHome = mallory.Home;
        Assert.That(await mallory.CloseAsync(), Is.EqualTo(0));

        // With mallory's home, an addition of "victim" with keys the attacker holds, and no consent of the victim's.
        using var writer = new EtcdWriter(Etcd);
        var store = writer.Store;
        var log = await writer.LogAsync(group);
        using (var identity = IdentityStore.LoadOrCreate(malloryHome))
        using (var puppet = NewIdentity())
        {
            var forced = new Newcomer(new LogMember(puppet.PeerId, puppet.SigningPublicKey, puppet.PublicKeyZ85, "victim", false), null, null);
            var add = GroupCommits.Add(log, identity, forced, new Dictionary<long, GroupKey>(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            Assert.That(await store.TryAppendAsync(group, add.Index, add.Record, [], CancellationToken.None), Is.True);
            await owner.WaitForAsync(p => p.Of("error").Any(e => e.Str("message")!.Contains("consent")), Long, "the owner refuses the forced addition");
        }

        var victim = StartPeer("victim", group);
        await victim.WaitReadyAsync(group, Long);
        await owner.SendAsync("welcome");
        await victim.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "welcome"), Long, "the real victim reads the group");
        await owner.SendAsync("/members");
        await owner.WaitForAsync(p => p.Of("members", group).Count > 0, Long, "/members");
        var members = owner.Of("members", group)[^1].GetProperty("members").EnumerateArray().Select(m => m.Str("peer")).ToList();
        Assert.That(members, Does.Contain(victim.PeerId).And.Count.EqualTo(3), "owner, mallory and the real victim; not the puppet");
    }

    private static PeerIdentity NewIdentity() =>
        new(new NetMQCertificate(), Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    private string Value(string key)
    {
        var (code, value) = Etcd.Etcdctl("get", key, "--print-value-only");
        Assert.That(code, Is.EqualTo(0), value);
        return value.TrimEnd('\n');
    }

    private void Put(string key, string value)
    {
        var (code, output) = Etcd.Etcdctl("put", key, "--", value);
        Assert.That(code, Is.EqualTo(0), output);
    }

    internal static string EpochKey(string home, string group, long epoch) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(home, "keys", group + ".epochs"))).RootElement.GetProperty(epoch.ToString(System.Globalization.CultureInfo.InvariantCulture)).GetString()!;

    private static string KeyMaterial(string home, string group)
    {
        var path = Path.Combine(home, "keys", group + ".epochs");
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }
}
