using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Mesh.Peer.Crypto;
using Mesh.Peer.Identity;
using Mesh.Peer.Protocol;

namespace Mesh.Micro;

/// <summary>The per-message cost of the protocol, one message of 100 bytes of text: each step on its own, then the
/// whole of sealing (what a sender pays) and opening (what each receiver pays).</summary>
[MemoryDiagnoser]
public class EnvelopeBenchmarks : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), $"mesh-micro-{Guid.NewGuid():N}");
    private PeerIdentity _identity = null!;
    private GroupKey _key = null!;
    private Envelope _envelope = null!;
    private byte[] _sealed = null!;
    private SealedEnvelope _parsed = null!;
    private byte[] _header = null!;
    private byte[] _nonce = null!;
    private byte[] _inner = null!;
    private byte[] _ciphertext = null!;
    private byte[] _signedBytes = null!;
    private byte[] _signature = null!;

    [GlobalSetup]
    public void Setup()
    {
        IdentityStore.EnsureHome(_home);
        _identity = IdentityStore.LoadOrCreate(_home);
        _key = GroupKey.Create();
        _envelope = new Envelope("ops", _identity.PeerId, 1_795_000_000_000, 42, "amy", 1_795_000_000_123, "message 000042 " + new string('x', 85));
        _sealed = EnvelopeCodec.Seal(_envelope, _key, _identity);
        _parsed = EnvelopeCodec.TryParse(_sealed)!;
        _header = Encoding.UTF8.GetBytes($"mesh/2\nops\n{_identity.PeerId}\n1795000000000\n42\n1795000000123");
        _nonce = RandomNumberGenerator.GetBytes(GroupKey.NonceSize);
        _inner = Encoding.UTF8.GetBytes("{\"f\":\"amy\",\"x\":\"" + _envelope.Text + "\"}");
        _ciphertext = _key.Seal(_nonce, _header, _inner);
        _signedBytes = [.. _header, 0, .. _nonce, .. _ciphertext];
        _signature = _identity.Sign(_signedBytes);
    }

    [Benchmark(Description = "encrypt (XChaCha20-Poly1305)")]
    public byte[] Encrypt() => _key.Seal(_nonce, _header, _inner);

    [Benchmark(Description = "sign (Ed25519)")]
    public byte[] Sign() => _identity.Sign(_signedBytes);

    [Benchmark(Description = "verify (Ed25519)")]
    public bool Verify() => PeerIdentity.Verify(_identity.SigningPublicKey, _signedBytes, _signature);

    [Benchmark(Description = "decrypt")]
    public byte[]? Decrypt() => _key.Open(_nonce, _header, _ciphertext);

    [Benchmark(Description = "decode (parse the JSON envelope)")]
    public SealedEnvelope? Decode() => EnvelopeCodec.TryParse(_sealed);

    [Benchmark(Description = "seal = encode + encrypt + sign")]
    public byte[] Seal() => EnvelopeCodec.Seal(_envelope, _key, _identity);

    [Benchmark(Description = "open = verify + decrypt + decode inner")]
    public Envelope? Open() => EnvelopeCodec.TryOpen(_parsed, _key, out _, out _);

    [GlobalCleanup]
    public void Dispose()
    {
        _identity?.Dispose();
        _key?.Dispose();
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }

        GC.SuppressFinalize(this);
    }
}
