using Mesh.Coordinator;
using Mesh.Coordinator.Membership;
using Mesh.Peer.Crypto;
using Mesh.Peer.Identity;
using Mesh.Peer.Protocol;
using Mesh.Testing;
using NetMQ;
using NetMQ.Sockets;
using NSec.Cryptography;

namespace Mesh.IntegrationTests.Security;

/// <summary>A peer that was never admitted: it registers itself as a member straight in etcd and publishes frames
/// that are well-formed and signed, but sealed with a key that is not the group's.</summary>
internal sealed class RoguePublisher : IAsyncDisposable
{
    private readonly EtcdProcess _etcd;
    private readonly string _group;
    private readonly PeerIdentity _identity;
    private readonly GroupKey _wrongKey = GroupKey.Create();
    private readonly NetMQPoller _poller = [];
    private readonly XPublisherSocket _publisher = new();
    private readonly NetMQQueue<byte[]> _outgoing = new();
    private int _subscribers;
    private long _seq;

    private RoguePublisher(EtcdProcess etcd, string group)
    {
        _etcd = etcd;
        _group = group;
        _identity = new PeerIdentity(new NetMQCertificate(),
            Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));
    }

    /// <summary>How many members have subscribed to the group's topic on this publisher.</summary>
    public int Subscribers => Volatile.Read(ref _subscribers);

    /// <summary>Starts the rogue and registers it in etcd: with an unsigned member record, or one it signed itself
    /// (<paramref name="signed"/>), which is valid but names a peer the group log never admitted.</summary>
    public static Task<RoguePublisher> StartAsync(EtcdProcess etcd, string group, bool signed = false)
    {
        var rogue = new RoguePublisher(etcd, group);
        rogue.Start(signed);
        return Task.FromResult(rogue);
    }

    public string PeerId => _identity.PeerId;

    /// <summary>Where the rogue publishes.</summary>
    public string Endpoint { get; private set; } = "";

    private void Start(bool signed)
    {
        _publisher.Options.CurveServer = true;
        _publisher.Options.CurveCertificate = _identity.Certificate;
        _publisher.Options.XPubVerbose = true;
        var port = _publisher.BindRandomPort("tcp://127.0.0.1");
        var topic = Topics.ForGroup(_group);
        _publisher.ReceiveReady += (_, e) =>
        {
            while (e.Socket.TryReceiveFrameBytes(out var frame))
            {
                if (frame.Length == topic.Length + 1 && frame[0] == 1 && frame.AsSpan(1).SequenceEqual(topic))
                {
                    Interlocked.Increment(ref _subscribers);
                }
            }
        };
        _outgoing.ReceiveReady += (_, e) =>
        {
            while (e.Queue.TryDequeue(out var payload, TimeSpan.Zero))
            {
                _publisher.SendMoreFrame(topic).SendFrame(payload);
            }
        };
        _poller.Add(_publisher);
        _poller.Add(_outgoing);
        _poller.RunAsync();

        Endpoint = $"tcp://127.0.0.1:{port}";
        var record = new MemberRecord(_identity.PeerId, "rogue", _identity.PublicKeyZ85,
            Convert.ToBase64String(_identity.SigningPublicKey), Endpoint, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) { Group = _group };
        if (signed)
        {
            // With its consent to the group it read, as any joiner of an open group gives it.
            var (read, genesis) = _etcd.Etcdctl("get", MeshKeys.Group(_group), "--print-value-only");
            var hash = read == 0 ? Mesh.Peer.Groups.LogEntry.TryParse(System.Text.Encoding.UTF8.GetBytes(genesis.TrimEnd('\n')), out _)?.Hash : null;
            record = Mesh.Peer.Groups.MemberSignature.Sign(record with
            {
                Consent = hash is null ? null : Convert.ToBase64String(Mesh.Peer.Groups.JoinConsent.Sign(_identity, _group, hash, "rogue")),
            }, _identity);
        }

        var (code, output) = _etcd.Etcdctl("put", MeshKeys.Member(_group, _identity.PeerId), System.Text.Encoding.UTF8.GetString(record.ToBytes()));
        if (code != 0)
        {
            throw new InvalidOperationException("could not register the rogue: " + output);
        }
    }

    public void Publish(string text)
    {
        var envelope = new Envelope(_group, _identity.PeerId, 1, Interlocked.Increment(ref _seq), "rogue",
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), text);
        _outgoing.Enqueue(EnvelopeCodec.Seal(envelope, _wrongKey, _identity));
    }

    /// <summary>Publishes bytes as they are: a frame captured elsewhere, replayed.</summary>
    public void PublishRaw(byte[] payload) => _outgoing.Enqueue(payload);

    public ValueTask DisposeAsync()
    {
        _etcd.Etcdctl("del", MeshKeys.Member(_group, _identity.PeerId));
        _poller.Stop();
        _publisher.Dispose();
        _outgoing.Dispose();
        _poller.Dispose();
        _wrongKey.Dispose();
        _identity.Dispose();
        return ValueTask.CompletedTask;
    }
}
