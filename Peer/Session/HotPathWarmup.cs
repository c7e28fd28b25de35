using System.Buffers;
using Mesh.Coordinator.History;
using Mesh.Peer.Crypto;
using Mesh.Peer.Headless;
using Mesh.Peer.Home;
using Mesh.Peer.Identity;
using Mesh.Peer.Protocol;
using NetMQ;
using NSec.Cryptography;

namespace Mesh.Peer.Session;

/// <summary>Runs the send and receive paths once on a throwaway burst while the peer connects to etcd, so that the
/// first real messages do not pay for compiling them.</summary>
/// <remarks>
/// Measured: with 8 peers starting to talk at once, the first messages took 250–320 ms against 6 ms for the rest;
/// what ReadyToRun leaves to the JIT (generic instantiations across assemblies, code it could not precompile) was
/// compiled then, by every peer at the same moment, on 2 cores. Done here, in the background, it costs no time to
/// ready. The burst is sealed with a fresh key and identity that exist only in memory and never leave it.
/// </remarks>
public static class HotPathWarmup
{
    /// <summary>The group named in the throwaway burst (not a valid group name, so no real group has it).</summary>
    public const string Group = "warm-up!";

    public static void Run()
    {
        var key = GroupKey.Create();
        using var signing = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var sender = new PeerIdentity(new NetMQCertificate(), signing);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var burst = Enumerable.Range(1, 3)
            .Select(i => new Envelope(Group, sender.PeerId, now, i, "warm-up", now, $"warm-up {i}", now + i))
            .ToList();
        var payloads = EnvelopeCodec.SealBurst(burst, key, sender, 1, 0);
        var verified = new VerifiedBursts();
        var orderer = new MessageOrderer();
        var output = new ArrayBufferWriter<byte>(4096);
        foreach (var frame in BurstFrame.Pack(payloads))
        {
            foreach (var part in BurstFrame.TrySplit(frame) ?? [frame])
            {
                if (EnvelopeCodec.TryParse(part) is not { } parsed
                    || EnvelopeCodec.TryOpen(parsed, key, out _, out _, verified) is not { } opened)
                {
                    continue;
                }

                _ = orderer.AlreadyDelivered(opened.PeerId, opened.Epoch, opened.Seq);
                foreach (var ready in orderer.OfferLive(opened, now))
                {
                    EventJson.Write(output, new MessageEvent(ready.Group, ready.Id, ready.From, ready.Text, ready.SentAt, false)
                    {
                        Order = ready.Order,
                        Key = ready.HistoryName,
                    });
                    _ = HistoryRecordCodec.Encode(new HistoryEntry(ready.Group, ready.HistoryName, part));
                }
            }
        }

        var beat = MemberBeat.TryParse(new MemberBeat([new MemberBeat.Tail(now, 3)]).Encode());
        _ = beat is not null && orderer.Misses(sender.PeerId, now, 3);
    }
}
