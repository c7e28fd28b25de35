using System.Buffers.Binary;

namespace Mesh.Peer.Protocol;

/// <summary>Burst roots whose signature this peer has checked, so that the burst's other messages need no new check;
/// and the peers' signing keys, checked against their ids.</summary>
/// <remarks>
/// Bounded: past <see cref="Capacity"/> the oldest roots are forgotten (a message of a forgotten burst is simply
/// checked again). Safe to use from several threads (history pages are opened in parallel).
/// </remarks>
public sealed class VerifiedBursts
{
    public const int Capacity = 4096;

    private readonly Lock _lock = new();
    private readonly HashSet<Root> _roots = [];
    private readonly Queue<Root> _order = new();
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _roots.Count;
            }
        }
    }

    public bool Contains(string peerId, ReadOnlySpan<byte> root)
    {
        var key = Root.Of(peerId, root);
        lock (_lock)
        {
            return _roots.Contains(key);
        }
    }

    public void Add(string peerId, ReadOnlySpan<byte> root)
    {
        var key = Root.Of(peerId, root);
        lock (_lock)
        {
            if (!_roots.Add(key))
            {
                return;
            }

            _order.Enqueue(key);
            if (_order.Count > Capacity)
            {
                _roots.Remove(_order.Dequeue());
            }
        }
    }

    /// <summary>Whether <paramref name="signingKey"/> is the key of <paramref name="peerId"/> (its id is the key's
    /// hash): checked once per key, then remembered.</summary>
    public bool IsKeyOf(string peerId, byte[] signingKey)
    {
        lock (_lock)
        {
            if (_keys.TryGetValue(peerId, out var known) && known.AsSpan().SequenceEqual(signingKey))
            {
                return true;
            }
        }

        if (Identity.PeerIdentity.DerivePeerId(signingKey) != peerId)
        {
            return false;
        }

        lock (_lock)
        {
            if (_keys.Count >= Capacity)
            {
                _keys.Clear();
            }

            _keys[peerId] = signingKey;
        }

        return true;
    }

    /// <summary>A root (all 32 bytes) and the peer that signed it.</summary>
    private readonly record struct Root(string PeerId, UInt128 Low, UInt128 High)
    {
        public static Root Of(string peerId, ReadOnlySpan<byte> root) =>
            new(peerId, BinaryPrimitives.ReadUInt128LittleEndian(root), BinaryPrimitives.ReadUInt128LittleEndian(root[16..]));
    }
}
