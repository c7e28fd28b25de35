namespace Mesh.Peer.Protocol;

/// <summary>The hash tree over one burst of a sender's messages: one signature over its root covers them all.</summary>
/// <remarks>
/// Leaves are <c>SHA-256(0x00 ‖ signed bytes of a message)</c>, inner nodes <c>SHA-256(0x01 ‖ left ‖ right)</c>
/// (the prefixes keep a leaf from passing for a node); a level with an odd count carries its last node up unhashed.
/// The sender signs <c>SHA-256(0x02 ‖ width ‖ root)</c>.
/// Each message carries its index, the burst's width and the siblings on its way to the root (at most
/// <see cref="MaxDepth"/>), so it can be checked alone, as it arrives or years later from history.
/// </remarks>
public static class BurstTree
{
    public const int HashSize = 32;

    /// <summary>The widest burst accepted: 2^MaxDepth messages under one signature.</summary>
    public const int MaxDepth = 8;

    public const int MaxWidth = 1 << MaxDepth;

    /// <summary>The leaf of a message; <paramref name="prefixed"/> is its signed bytes after one byte, 0x00.</summary>
    public static byte[] Leaf(ReadOnlySpan<byte> prefixed)
    {
        if (prefixed.IsEmpty || prefixed[0] != 0)
        {
            throw new ArgumentException("a leaf is hashed with the prefix 0x00", nameof(prefixed));
        }

        return Sha256(prefixed);
    }

    /// <summary>SHA-256 by libsodium: these hashes are a few hundred bytes, where a call into OpenSSL costs more
    /// than the hashing (measured: OpenSSL was 10% of a busy receiver, most of it error-queue upkeep).</summary>
    private static byte[] Sha256(ReadOnlySpan<byte> data) => NSec.Cryptography.HashAlgorithm.Sha256.Hash(data);

    private static byte[] Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> both = stackalloc byte[1 + HashSize * 2];
        both[0] = 1;
        left.CopyTo(both[1..]);
        right.CopyTo(both[(1 + HashSize)..]);
        return Sha256(both);
    }

    /// <summary>What the sender signs for a burst: its tree root bound to its width (so no message can claim another
    /// width, even one whose tree would lead to the same root).</summary>
    public static byte[] Seal(ReadOnlySpan<byte> root, int width)
    {
        Span<byte> sealedRoot = stackalloc byte[1 + sizeof(int) + HashSize];
        sealedRoot[0] = 2;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(sealedRoot[1..], width);
        root.CopyTo(sealedRoot[(1 + sizeof(int))..]);
        return Sha256(sealedRoot);
    }

    /// <summary>The root over <paramref name="leaves"/>, and for each leaf its path (siblings, bottom up, concatenated).</summary>
    public static (byte[] Root, byte[][] Paths) Build(IReadOnlyList<byte[]> leaves)
    {
        if (leaves.Count is 0 or > MaxWidth)
        {
            throw new ArgumentOutOfRangeException(nameof(leaves), leaves.Count, $"a burst holds 1 to {MaxWidth} messages");
        }

        var levels = new List<List<byte[]>> { leaves.ToList() };
        while (levels[^1].Count > 1)
        {
            var below = levels[^1];
            var above = new List<byte[]>((below.Count + 1) / 2);
            for (var i = 0; i < below.Count; i += 2)
            {
                // The last node of an odd level goes up as it is.
                above.Add(i + 1 < below.Count ? Node(below[i], below[i + 1]) : below[i]);
            }

            levels.Add(above);
        }

        var paths = new byte[leaves.Count][];
        for (var leaf = 0; leaf < leaves.Count; leaf++)
        {
            var path = new List<byte>(HashSize * MaxDepth);
            var index = leaf;
            foreach (var level in levels[..^1])
            {
                if ((index ^ 1) < level.Count)
                {
                    path.AddRange(level[index ^ 1]);
                }

                index /= 2;
            }

            paths[leaf] = [.. path];
        }

        return (levels[^1][0], paths);
    }

    /// <summary>The root that <paramref name="leaf"/> at <paramref name="index"/> of <paramref name="width"/> leads to
    /// through <paramref name="path"/>; null when the path does not fit that position (too short, too long).</summary>
    public static byte[]? RootOf(byte[] leaf, int index, int width, ReadOnlySpan<byte> path)
    {
        if (width is < 1 or > MaxWidth || index < 0 || index >= width || path.Length % HashSize != 0)
        {
            return null;
        }

        var node = leaf;
        var used = 0;
        for (var count = width; count > 1; count = (count + 1) / 2)
        {
            if (index % 2 == 1)
            {
                if (used + HashSize > path.Length)
                {
                    return null;
                }

                node = Node(path.Slice(used, HashSize), node);
                used += HashSize;
            }
            else if (index + 1 < count)
            {
                if (used + HashSize > path.Length)
                {
                    return null;
                }

                node = Node(node, path.Slice(used, HashSize));
                used += HashSize;
            }

            // else: the last node of an odd level goes up as it is.
            index /= 2;
        }

        return used == path.Length ? node : null;
    }
}
