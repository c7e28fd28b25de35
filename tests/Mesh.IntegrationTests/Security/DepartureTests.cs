using System.Globalization;
using Etcdserverpb;
using Google.Protobuf;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Peer.Crypto;
using Mesh.Peer.Identity;
using Mesh.Peer.Protocol;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Security;

/// <summary>Departures are final at a point in each sender's stream: what a removed member sent while a member stays in
/// every view whatever its clock said, and nothing it signs afterwards is taken, whatever its stamps say.</summary>
[Category("Integration")]
public sealed class DepartureTests : EtcdFixture
{
    [Test]
    public async Task A_removed_member_with_a_clock_ahead_keeps_what_it_sent_and_nothing_it_signs_afterwards_is_shown()
    {
        var group = NewGroup("cut");
        var owner = StartPeer("owner", group);
        await owner.WaitReadyAsync(group);
        var bo = StartPeer("bo", group);
        await bo.WaitReadyAsync(group, Long);
        // Mallory's clock runs 20 s ahead: her messages are stamped after the removal that follows them at once.
        var mallory = Track(PeerProcess.Start(Etcd.Url, "mallory", [group], null, SkewedClock.Environment("+20s")));
        await mallory.WaitReadyAsync(group, Long);
        await owner.WaitForAsync(p => OnlineNames(p, group).Contains("mallory"), Long, "owner sees mallory");
        foreach (var text in new[] { "m1", "m2", "m3" })
        {
            await mallory.SendAsync(text);
        }

        await owner.WaitForAsync(p => Texts(p, group).Contains("m3"), Long, "owner has mallory's three");
        await owner.SendAsync("/remove mallory");
        await mallory.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "mallory" && e.Str("reason") == "removed"), Long, "mallory removed");
        await bo.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "mallory"), Long, "bo sees it");

        // Mallory's home in the attacker's hands: messages of her last run beyond the cut, backdated and future-dated,
        // and one of a new run, sealed under the key she holds, put straight into etcd's history.
        var run = long.Parse(File.ReadAllText(Path.Combine(mallory.Home, "epoch")).Trim(), CultureInfo.InvariantCulture);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var writer = new EtcdWriter(Etcd);
        // The head she had seen as a member: the entry before her removal.
        var head = (await writer.LogAsync(group)).Head - 1;
        using (var identity = IdentityStore.LoadOrCreate(mallory.Home))
        {
            var key = new EpochKeyring(mallory.Home).TryGet(group, 1)!;
            var forged = new[]
            {
                new Envelope(group, identity.PeerId, run, 4, "mallory", now - 60_000, "forged backdated", now - 60_000),
                new Envelope(group, identity.PeerId, run, 5, "mallory", now + 365L * 86_400_000, "forged future", now + 365L * 86_400_000),
                new Envelope(group, identity.PeerId, run + 1, 1, "mallory", now - 30_000, "forged new run", now - 30_000),
            };
            foreach (var e in forged)
            {
                await writer.Connection.KV.PutAsync(new PutRequest
                {
                    Key = ByteString.CopyFromUtf8(MeshKeys.HistoryPrefix(group) + e.HistoryName),
                    Value = ByteString.CopyFrom(EnvelopeCodec.Seal(e, key, identity, keyEpoch: 1, logHead: head)),
                });
            }
        }

        // A late joiner, a member's `mesh history` and a restarted member: all of hers before the cut, none after.
        var cy = StartPeer("cy", group);
        await cy.WaitReadyAsync(group, Long);
        var boHome = bo.Home;
        Assert.That(await bo.CloseAsync(), Is.EqualTo(0));
        bo = StartPeer("bo", [group], boHome);
        await bo.WaitReadyAsync(group, Long);
        await MarkAsync(owner, group, cy, bo);
        var history = (await HistoryAsync(group, owner.Home)).Select(e => e.Str("text") ?? "").ToList();
        foreach (var (name, texts) in new[] { ("cy", Texts(cy, group)), ("bo restarted", Texts(bo, group)), ("mesh history", history) })
        {
            Assert.That(texts, Does.Contain("m1").And.Contain("m2").And.Contain("m3"), $"{name}: what mallory sent as a member stays");
            Assert.That(texts.Where(t => t.StartsWith("forged", StringComparison.Ordinal)), Is.Empty, $"{name}: nothing beyond her cut");
        }
    }
}
