using System.Text;
using System.Text.Json;
using Mesh.Testing;
using NetMQ;
using NetMQ.Sockets;

namespace Mesh.IntegrationTests.Security;

/// <summary>The group layer: etcd holds only ciphertext, non-members read nothing, members read everything.</summary>
public sealed class EndToEndTests : EtcdFixture
{
    [Test]
    public async Task A_dump_of_etcd_after_a_chat_holds_no_text_no_sender_name_in_history_and_no_group_key()
    {
        var group = NewGroup("dump");
        var a = StartPeer("alice", group);
        await a.WaitReadyAsync(group);
        var b = StartPeer("bobby", group);
        await b.WaitReadyAsync(group);
        var texts = Enumerable.Range(0, 20).Select(i => $"confidential-{i}-{Guid.NewGuid():N}").ToList();
        await a.SendManyAsync(texts.Take(10));
        await b.SendManyAsync(texts.Skip(10));
        await a.WaitForAsync(p => p.Messages(group).Count == 20, Long, "20 messages");
        await b.WaitForAsync(p => p.Messages(group).Count == 20, Long, "20 messages");
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 20, Long, "20 in history");

        var (code, dump) = Etcd.Etcdctl("get", "--prefix", "");
        Assert.That(code, Is.EqualTo(0));
        foreach (var text in texts)
        {
            Assert.That(dump, Does.Not.Contain(text));
        }

        var (_, history) = Etcd.Etcdctl("get", "--prefix", $"/mesh/history/{group}/");
        Assert.That(history, Does.Not.Contain("alice").And.Not.Contain("bobby"), "sender names are sealed too");
        foreach (var home in new[] { a.Home, b.Home })
        {
            var path = Path.Combine(home, "keys", group + ".epochs");
            var keyBase64 = JsonDocument.Parse(await File.ReadAllTextAsync(path)).RootElement.GetProperty("1").GetString()!;
            var keyBytes = Convert.FromBase64String(keyBase64);
            Assert.That(dump, Does.Not.Contain(keyBase64));
            Assert.That(Encoding.Latin1.GetBytes(dump).AsSpan().IndexOf(keyBytes), Is.EqualTo(-1), "raw key bytes");
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        }

        // Both members hold the same key: the second was admitted by the first.
        Assert.That(await File.ReadAllTextAsync(Path.Combine(b.Home, "keys", group + ".epochs")),
            Is.EqualTo(await File.ReadAllTextAsync(Path.Combine(a.Home, "keys", group + ".epochs"))));
    }

    [Test]
    public async Task A_non_member_subscribed_to_a_members_socket_recovers_no_text()
    {
        var group = NewGroup("eaves");
        var member = StartPeer("member", group);
        await member.WaitReadyAsync(group);
        var endpoint = await EndpointOf(group, "member");
        var serverKey = NetMQCertificate.FromPublicKey((await File.ReadAllTextAsync(Path.Combine(member.Home, "identity.public"))).Trim()).PublicKey;

        // The eavesdropper knows the member's public key (it is in etcd): Curve lets it in, the group layer does not.
        using var eavesdropper = new SubscriberSocket();
        eavesdropper.Options.CurveCertificate = new NetMQCertificate();
        eavesdropper.Options.CurveServerKey = serverKey;
        eavesdropper.Options.Linger = TimeSpan.Zero;
        eavesdropper.SubscribeToAnyTopic();
        eavesdropper.Connect(endpoint);

        var captured = new List<byte[]>();
        var frames = new List<byte[]>();
        for (var i = 0; i < 400 && captured.Count < 5; i++)
        {
            await member.SendAsync($"whisper-{i}");
            while (eavesdropper.TryReceiveMultipartBytes(TimeSpan.FromMilliseconds(i == 0 ? 200 : 20), ref frames))
            {
                if (frames.Count == 2 && frames[0].Length > 0 && frames[0][0] != 0x01)
                {
                    captured.Add(frames[1]);
                }
            }
        }

        Assert.That(captured, Has.Count.GreaterThanOrEqualTo(5), "control: frames reached the eavesdropper");
        foreach (var frame in captured)
        {
            Assert.That(Encoding.UTF8.GetString(frame), Does.Not.Contain("whisper").And.Not.Contain("member"));
        }
    }

    [Test]
    public async Task A_peer_never_admitted_is_never_followed_whatever_member_record_it_writes()
    {
        var group = NewGroup("rogue");
        var a = StartPeer("anna", [group], null, "--private");
        await a.WaitReadyAsync(group);
        var b = StartInvited("bert", group, await InviteAsync(group, a.Home));
        await b.WaitReadyAsync(group, Long);

        // One rogue registers with an unsigned record, another with a record it signed itself: neither is in the log.
        await using var unsigned = await RoguePublisher.StartAsync(Etcd, group);
        await using var selfSigned = await RoguePublisher.StartAsync(Etcd, group, signed: true);
        for (var i = 0; i < 20; i++)
        {
            unsigned.Publish($"rogue-{i}");
            selfSigned.Publish($"rogue-{i}");
        }

        // The rogues' records are older than this marker: once it arrives, both members have read them.
        await a.SendAsync("legit after rogue");
        await b.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "legit after rogue"), Long, "legit message");
        await b.SendAsync("reply");
        await a.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "reply"), Long, "reply");
        Assert.That(unsigned.Subscribers + selfSigned.Subscribers, Is.EqualTo(0), "no member subscribed to a peer the log does not hold");
        foreach (var peer in new[] { a, b })
        {
            Assert.That(peer.Events.Any(e => e.Str("text")?.StartsWith("rogue-", StringComparison.Ordinal) == true), Is.False);
            Assert.That(peer.Events.Any(e => e.Str("type") == "joined" && e.Str("name") == "rogue"), Is.False);
        }

        Assert.That(Etcd.CountKeys($"/mesh/keys/{group}/{selfSigned.PeerId}/").Count, Is.EqualTo(0), "no key was granted to it");
    }

    [Test]
    public async Task Private_groups_admit_with_a_single_use_invite_and_the_invitee_reads_the_whole_history()
    {
        var group = NewGroup("priv");
        var owner = StartPeer("owner", [group], null, "--private");
        await owner.WaitReadyAsync(group);
        await owner.SendManyAsync(Enumerable.Range(0, 30).Select(i => $"early-{i}"));
        await owner.WaitForAsync(p => p.Messages(group).Count == 30, Long, "30 sent");

        var (code, _, stderr) = await MeshCli.RunAsync("join", group, "--headless", "--name", "crasher", "--etcd", Etcd.Url,
            "--home", Path.Combine(Path.GetTempPath(), $"mesh-home-crasher-{Guid.NewGuid():N}"));
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(stderr.Trim(), Does.Contain("is private").And.Contain("MESH_INVITE"));

        var invite = await InviteAsync(group, owner.Home);
        var guest = StartInvited("guest", group, invite);
        await guest.WaitReadyAsync(group, Long);
        await guest.WaitForAsync(p => p.Messages(group).Count == 30, Long, "whole history");
        Assert.That(guest.Messages(group).Select(m => m.Str("text")), Is.EqualTo(Enumerable.Range(0, 30).Select(i => $"early-{i}")));

        var file = Path.Combine(Path.GetTempPath(), $"mesh-invite-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(file, invite + "\n");
        var (again, _, againErr) = await MeshCli.RunAsync("join", group, "--headless", "--name", "second", "--etcd", Etcd.Url,
            "--invite-file", file, "--home", Path.Combine(Path.GetTempPath(), $"mesh-home-second-{Guid.NewGuid():N}"));
        File.Delete(file);
        Assert.That(again, Is.Not.EqualTo(0), "an invite works once");
        Assert.That(againErr.Trim(), Does.Contain("no such invite"));

        var (flag, _, flagErr) = await MeshCli.RunAsync("join", group, "--headless", "--name", "third", "--etcd", Etcd.Url, "--invite", invite);
        Assert.That(flag, Is.EqualTo(2), "a code on the command line is refused");
        Assert.That(flagErr.Trim(), Does.Contain("MESH_INVITE").And.Not.Contain(invite));
    }

    [Test]
    public async Task A_joiner_is_told_it_waits_for_the_key_and_is_admitted_when_a_member_comes_online()
    {
        var group = NewGroup("wait");
        var founderHome = Path.Combine(Path.GetTempPath(), $"mesh-home-founder-{Guid.NewGuid():N}");
        var founder = StartPeer("founder", [group], founderHome);
        await founder.WaitReadyAsync(group);
        await founder.SendAsync("before you came");
        await founder.WaitForAsync(p => p.Messages(group).Count == 1, Long, "sent");
        Assert.That(await founder.CloseAsync(), Is.EqualTo(0));

        var joiner = StartPeer("joiner", group);
        await joiner.WaitForAsync(p => p.Of("waiting", group).Count > 0, Long, "waiting event");
        Assert.That(joiner.Of("ready", group), Is.Empty);

        var back = StartPeer("founder", [group], founderHome);
        await back.WaitReadyAsync(group);
        await joiner.WaitReadyAsync(group, Long);
        await joiner.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "before you came"), Long, "history after admission");
    }

    [Test]
    public async Task Replayed_history_records_are_accepted_zero_times()
    {
        var group = NewGroup("replay");
        var a = StartPeer("sender", group);
        await a.WaitReadyAsync(group);
        await a.SendManyAsync(["one", "two"]);
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 2, Long, "2 in history");

        // Envelopes are binary: read and written as bytes, not through etcdctl's text.
        using (var connection = new Mesh.Coordinator.Etcd.EtcdConnection([Etcd.Url]))
        {
            var prefix = Mesh.Coordinator.MeshKeys.HistoryPrefix(group);
            var stored = await connection.KV.RangeAsync(new Etcdserverpb.RangeRequest
            {
                Key = Google.Protobuf.ByteString.CopyFromUtf8(prefix),
                RangeEnd = Google.Protobuf.ByteString.CopyFrom(Mesh.Coordinator.MeshKeys.RangeEnd(prefix)),
            });
            var first = stored.Kvs[0];
            // The same record again under its own key, and a captured copy under a new key.
            await connection.KV.PutAsync(new Etcdserverpb.PutRequest { Key = first.Key, Value = first.Value });
            await connection.KV.PutAsync(new Etcdserverpb.PutRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8(prefix + "9999999999999-replayed"), Value = first.Value });
        }

        var late = StartPeer("late", group);
        await late.WaitReadyAsync(group, Long);
        Assert.That(late.Messages(group).Select(m => m.Str("text")), Is.EqualTo(new[] { "one", "two" }));
        var history = await HistoryAsync(group, a.Home);
        Assert.That(history.Select(m => m.Str("text")), Is.EqualTo(new[] { "one", "two" }));
        Assert.That(a.Messages(group).Select(m => m.Str("text")), Is.EqualTo(new[] { "one", "two" }));
    }

    [Test]
    public async Task Two_members_with_one_name_are_told_apart_by_fingerprint_in_messages_members_and_events()
    {
        var group = NewGroup("names");
        var watcher = StartPeer("watcher", group);
        await watcher.WaitReadyAsync(group);
        var first = StartPeer("carol", group);
        await first.WaitReadyAsync(group, Long);
        var second = StartPeer("carol", group);
        await second.WaitReadyAsync(group, Long);
        await watcher.WaitForAsync(p => p.Of("joined", group).Count >= 2, Long, "both carols joined");
        await first.SendAsync("from the first");
        await second.SendAsync("from the second");
        await watcher.WaitForAsync(p => p.Messages(group).Count >= 2, Long, "both messages");
        await MarkAsync(watcher, group);

        var labels = Counted(watcher, group).Select(m => m.Str("from")!).ToList();
        Assert.That(labels, Has.All.Match("^carol#[0-9a-f]{4}$"));
        Assert.That(labels.Distinct().Count(), Is.EqualTo(2), "the two are told apart");
        var joined = watcher.Of("joined", group).Select(e => e.Str("peer")).ToList();
        Assert.That(joined, Is.EquivalentTo(new[] { first.PeerId, second.PeerId }));

        await watcher.SendAsync("/members");
        await watcher.WaitForAsync(p => p.Of("members", group).Count > 0, Long, "/members");
        var members = watcher.Of("members", group)[0].GetProperty("members").EnumerateArray().Select(m => m.Str("name")!).ToList();
        Assert.That(members.Count(m => m.StartsWith("carol#", StringComparison.Ordinal)), Is.EqualTo(2));
    }

    private static int Rejections(PeerProcess peer, string reason = "NotSealedForGroup")
    {
        try
        {
            return File.ReadAllLines(peer.StderrPath).Count(l => l.Contains(reason));
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private async Task<string> EndpointOf(string group, string name)
    {
        var (code, stdout, _) = await MeshCli.RunAsync("members", group, "--json", "--etcd", Etcd.Url);
        Assert.That(code, Is.EqualTo(0));
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).Single(m => m.Str("name") == name).Str("endpoint")!;
    }
}
