using System.Text;
using Etcdserverpb;
using Google.Protobuf;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Peer.Groups;
using Mesh.Peer.Identity;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Security;

/// <summary>An etcd user trying to hold up a group's log (junk at the next index, written and deleted, in a loop; a leave
/// bundled with junk) against real etcd and unmodified peers: removals, leaves' rotations and admissions still land.</summary>
[Category("Integration")]
public sealed class LogProgressAttackTests : EtcdFixture
{
    [Test]
    public async Task Junk_written_and_deleted_at_the_next_index_in_a_loop_holds_up_no_removal_rotation_or_admission()
    {
        var group = NewGroup("freeze");
        var owner = StartPeer("owner", group);
        await owner.WaitReadyAsync(group);
        var peers = await StartOnlineAsync(group, "bo", "mallory");
        var (bo, mallory) = (peers[0], peers[1]);
        await owner.WaitForAsync(p => new[] { "bo", "mallory" }.All(OnlineNames(p, group).Contains), Long, "owner sees everyone");

        using var writer = new EtcdWriter(Etcd);
        using var stop = new CancellationTokenSource();
        var writes = 0;
        var attack = Task.Run(async () =>
        {
            var store = writer.Store;
            while (!stop.IsCancellationRequested)
            {
                var (_, entries, _) = await store.ReadAsync(group, CancellationToken.None);
                var next = MeshKeys.LogEntry(group, entries.Count == 0 ? 1 : entries.Max(e => e.Index) + 1);
                await store.PutAsync(next, Encoding.UTF8.GetBytes($"junk {++writes}"), CancellationToken.None);
                // The attack's pace, not a wait for anything: members see the junk, then it is gone.
                await Task.Delay(40, CancellationToken.None);
                await store.DeleteAsync(next, CancellationToken.None);
                await Task.Delay(40, CancellationToken.None);
            }
        });

        await owner.SendAsync("/remove mallory");
        await mallory.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "mallory" && e.Str("reason") == "removed"), Long, "mallory told she was removed");
        await bo.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "mallory" && e.Str("reason") == "removed"), Long, "bo sees mallory removed");
        await EpochTests.WaitEpochAsync(bo, group, 2);
        await owner.SendAsync("after the removal");
        await bo.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "after the removal"), Long, "bo reads on");

        await bo.SendAsync("/leave");
        await owner.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "bo" && e.Str("reason") == "left"), Long, "owner sees bo leave");
        await EpochTests.WaitEpochAsync(owner, group, 3);

        var cy = StartPeer("cy", group);
        await cy.WaitReadyAsync(group, Long);
        await owner.SendAsync("after the leave");
        var marker = await MarkAsync(owner, group, cy);
        stop.Cancel();
        await attack;

        Assert.That(writes, Is.GreaterThan(5), "the attack ran throughout");
        Assert.That(Texts(cy, group), Does.Contain("after the removal").And.Contain("after the leave").And.Contain(marker));
        Assert.That(Texts(mallory, group), Does.Not.Contain("after the removal"));
        Assert.That(Texts(bo, group), Does.Not.Contain("after the leave"));
        var malloryHistory = await MeshCli.RunAsync("history", group, "--json", "--etcd", Etcd.Url, "--home", mallory.Home);
        Assert.That(malloryHistory.Stdout, Does.Not.Contain("\"text\":\"after the"));
        var boHistory = await MeshCli.RunAsync("history", group, "--json", "--etcd", Etcd.Url, "--home", bo.Home);
        Assert.That(boHistory.Stdout, Does.Contain("\"text\":\"after the removal\"").And.Not.Contain("\"text\":\"after the leave\""));
    }

    [Test]
    public async Task A_leave_bundled_with_junk_at_the_next_index_then_deleted_is_still_followed_by_a_rotation()
    {
        var group = NewGroup("bundle");
        var owner = StartPeer("owner", group);
        await owner.WaitReadyAsync(group);
        var peers = await StartOnlineAsync(group, "bo", "mallory");
        var (bo, mallory) = (peers[0], peers[1]);
        var malloryHome = mallory.Home;
        Assert.That(await mallory.CloseAsync(), Is.EqualTo(0));

        // Mallory's home in the attacker's hands: her signed leave and junk at the next index in one transaction.
        using var writer = new EtcdWriter(Etcd);
        var store = writer.Store;
        var log = await writer.LogAsync(group);
        using (var identity = IdentityStore.LoadOrCreate(malloryHome))
        {
            var leave = GroupCommits.Leave(log, identity, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            var txn = new TxnRequest();
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(MeshKeys.LogEntry(group, leave.Index)), Value = ByteString.CopyFrom(leave.Record) } });
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(MeshKeys.LogEntry(group, leave.Index + 1)), Value = ByteString.CopyFromUtf8("junk") } });
            Assert.That((await writer.Connection.KV.TxnAsync(txn)).Succeeded, Is.True);
            await owner.WaitForAsync(p => p.Of("error").Any(e => e.Str("message")!.Contains($"entry {leave.Index + 1} of the group log rejected")), Long, "the owner saw the junk");
            await store.DeleteAsync(MeshKeys.LogEntry(group, leave.Index + 1), CancellationToken.None);
        }

        await EpochTests.WaitEpochAsync(owner, group, 2);
        await EpochTests.WaitEpochAsync(bo, group, 2);
        await owner.SendAsync("after her leave");
        await MarkAsync(owner, group, bo);
        Assert.That(Texts(bo, group), Does.Contain("after her leave"));
        var malloryHistory = await MeshCli.RunAsync("history", group, "--json", "--etcd", Etcd.Url, "--home", malloryHome);
        Assert.That(malloryHistory.Stdout, Does.Not.Contain("\"text\":\"after her leave\""));
        Assert.That(File.ReadAllText(Path.Combine(malloryHome, "keys", group + ".epochs")), Does.Not.Contain("\"2\""));
    }

    [Test]
    public async Task A_rotation_that_wraps_its_key_to_some_members_only_is_made_good_by_the_others_and_the_user_told()
    {
        var group = NewGroup("omit");
        var owner = StartPeer("owner", group);
        await owner.WaitReadyAsync(group);
        var peers = await StartOnlineAsync(group, "bo", "mallory");
        var (bo, mallory) = (peers[0], peers[1]);
        var malloryHome = mallory.Home;
        Assert.That(await mallory.CloseAsync(), Is.EqualTo(0));

        // With mallory's home: a new epoch, its key wrapped to the owner and herself, and not to bo.
        using var writer = new EtcdWriter(Etcd);
        var store = writer.Store;
        var log = await writer.LogAsync(group);
        using (var identity = IdentityStore.LoadOrCreate(malloryHome))
        {
            var rotation = GroupCommits.Rotate(log, identity, null, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            var some = rotation.Grants.Where(g => !g.Key.Contains(bo.PeerId, StringComparison.Ordinal)).ToList();
            Assert.That(some, Has.Count.EqualTo(rotation.Grants.Count - 1));
            Assert.That(await store.TryAppendAsync(group, rotation.Index, rotation.Record, some, CancellationToken.None), Is.True);
        }

        await bo.WaitForAsync(p => p.Of("waiting", group).Any(e => e.Str("message")!.Contains("asked the other members")), Long, "bo is told it waits for the key");
        await EpochTests.WaitEpochAsync(bo, group, 2);
        await owner.SendAsync("after the rotation");
        await bo.SendAsync("bo after the rotation");
        await bo.WaitForAsync(p => Texts(p, group).Contains("after the rotation"), Long, "bo reads the owner under the new key");
        await owner.WaitForAsync(p => Texts(p, group).Contains("bo after the rotation"), Long, "and the owner reads bo");
        Assert.That(GroupLogAttackTests.EpochKey(bo.Home, group, 2), Is.EqualTo(GroupLogAttackTests.EpochKey(owner.Home, group, 2)));
        await Waiting.UntilAsync(() => Etcd.CountKeys(MeshKeys.KeyRequestPrefix(group)).Count == 0, Long, "the ask withdrawn once answered");
    }

    [Test]
    public async Task A_rotation_stamped_a_year_ahead_is_told_and_the_removal_after_it_ends_her_stream_for_good()
    {
        var group = NewGroup("ahead");
        var owner = StartPeer("owner", group);
        await owner.WaitReadyAsync(group);
        var peers = await StartOnlineAsync(group, "bo", "mallory");
        var (bo, mallory) = (peers[0], peers[1]);

        // Mallory's home (her peer still running) commits a rotation stamped a year ahead.
        using var writer = new EtcdWriter(Etcd);
        var store = writer.Store;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var log = await writer.LogAsync(group);
        GroupCommits.Commit ahead;
        using (var identity = IdentityStore.LoadOrCreate(mallory.Home))
        {
            ahead = GroupCommits.Rotate(log, identity, null, now + 365L * 86_400_000);
            Assert.That(await store.TryAppendAsync(group, ahead.Index, ahead.Record, ahead.Grants, CancellationToken.None), Is.True);
            await owner.WaitForAsync(p => p.Of("error").Any(e => e.Str("message")!.Contains("days ahead of this peer's clock")), Long, "the owner tells of it");
        }

        await owner.SendAsync("/remove mallory");
        await bo.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "mallory" && e.Str("reason") == "removed"), Long, "the removal lands over it");
        var after = await writer.LogAsync(group);
        Assert.That(after.Members.ContainsKey(mallory.PeerId), Is.False);

        // Her home signs on, stamped before the removal and within the year the rotation claimed: none of it is taken.
        var run = long.Parse(File.ReadAllText(Path.Combine(mallory.Home, "epoch")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        using (var identity = IdentityStore.LoadOrCreate(mallory.Home))
        {
            var key = ahead.NewKey!;
            foreach (var (seq, stamp) in new[] { (1L, now - 5_000), (2L, now + 180L * 86_400_000) })
            {
                var e = new Mesh.Peer.Protocol.Envelope(group, identity.PeerId, run, seq, "mallory", stamp, $"forged {seq}", stamp);
                await store.PutAsync(MeshKeys.HistoryPrefix(group) + e.HistoryName, Mesh.Peer.Protocol.EnvelopeCodec.Seal(e, key, identity, keyEpoch: 2, logHead: after.Head - 1), CancellationToken.None);
            }
        }

        await owner.SendAsync("after the removal");
        await MarkAsync(owner, group, bo);
        var cy = StartPeer("cy", group);
        await cy.WaitReadyAsync(group, Long);
        await MarkAsync(owner, group, cy);
        Assert.That(Texts(mallory, group), Does.Not.Contain("after the removal"));
        Assert.That(Texts(cy, group).Where(t => t.StartsWith("forged", StringComparison.Ordinal)), Is.Empty, "nothing beyond her cut, whatever the log's times");
    }

    [Test]
    public async Task Signed_presence_records_with_invalid_names_rewritten_every_100_ms_hold_up_no_admission()
    {
        var group = NewGroup("unfit");
        var owner = StartPeer("owner", group);
        await owner.WaitReadyAsync(group);
        var bo = StartPeer("bo", group);
        await bo.WaitReadyAsync(group, Long);

        using var writer = new EtcdWriter(Etcd);
        var store = writer.Store;
        var genesisHash = (await writer.LogAsync(group)).GenesisHash;
        var forgers = Enumerable.Range(0, 12).Select(_ => new PeerIdentity(new NetMQ.NetMQCertificate(),
            NSec.Cryptography.Key.Create(NSec.Cryptography.SignatureAlgorithm.Ed25519, new NSec.Cryptography.KeyCreationParameters { ExportPolicy = NSec.Cryptography.KeyExportPolicies.AllowPlaintextExport }))).ToList();
        using var stop = new CancellationTokenSource();
        var rounds = 0;
        var flood = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var forger in forgers)
                {
                    var name = $"bad name \u001b[2J {rounds}";
                    var record = MemberSignature.Sign(new Mesh.Coordinator.Membership.MemberRecord(forger.PeerId, name, forger.PublicKeyZ85,
                        Convert.ToBase64String(forger.SigningPublicKey), "tcp://127.0.0.1:9", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())
                    {
                        Group = group,
                        Consent = Convert.ToBase64String(JoinConsent.Sign(forger, group, genesisHash, name)),
                    }, forger);
                    await store.PutAsync(MeshKeys.Member(group, forger.PeerId), record.ToBytes(), CancellationToken.None);
                }

                rounds++;
                // The attack's pace, not a wait for anything.
                await Task.Delay(100, CancellationToken.None);
            }
        });

        var cy = StartPeer("cy", group);
        await cy.WaitReadyAsync(group, Long);
        await owner.SendAsync("welcome cy");
        await cy.WaitForAsync(p => Texts(p, group).Contains("welcome cy"), Long, "cy admitted and reading");
        stop.Cancel();
        await flood;
        foreach (var forger in forgers)
        {
            forger.Dispose();
        }

        Assert.That(rounds, Is.GreaterThan(3), "the flood ran");
        foreach (var peer in new[] { owner, bo })
        {
            Assert.That(peer.Tail(), Does.Not.Contain("Exception"), $"{peer.Name}: no exception from the flood");
            Assert.That(peer.Of("error").Count, Is.LessThan(5), $"{peer.Name}: the flood costs no stream of errors");
        }
    }
}
