using System.Buffers.Binary;

namespace Mesh.Peer.Protocol;

/// <summary>Several envelopes of one burst in one ZeroMQ message: one Curve encryption per subscriber per burst, one
/// wake-up per burst at each receiver, instead of one per message.</summary>
/// <remarks>
/// Wire form: <c>0x01 'm'</c>, then for each envelope its length (4 bytes, big-endian) and its bytes. Each envelope
/// is still complete on its own (the one stored in history, checked alone by its burst path), so a receiver opens
/// them one by one; the burst's signature is checked once (<see cref="VerifiedBursts"/>). A frame never exceeds
/// <see cref="MaxBytes"/>, which is what a subscriber accepts: a burst too large for one frame travels in several,
/// and an envelope alone in its frame travels bare, as it always did.
/// </remarks>
public static class BurstFrame
{
    /// <summary>The largest frame built, and accepted: the largest envelope fits alone with room to spare.</summary>
    public const int MaxBytes = EnvelopeCodec.MaxEncodedBytes + 128;

    /// <summary>Envelopes in one frame at most (a burst is sealed under one signature up to 64).</summary>
    public const int MaxParts = 256;

    private const int HeaderBytes = 2;

    public static bool IsBurst(ReadOnlySpan<byte> payload) => payload.Length >= 2 && payload[0] == 0x01 && payload[1] == (byte)'m';

    /// <summary>The frames that carry <paramref name="payloads"/>, in order.</summary>
    public static List<byte[]> Pack(IReadOnlyList<byte[]> payloads) => PackRanges(payloads).ConvertAll(f => f.Frame);

    /// <summary>The frames that carry <paramref name="payloads"/>, in order, each with the payloads it carries (where
    /// they start, how many): a sender's frame is also its history key.</summary>
    public static List<(byte[] Frame, int Start, int Count)> PackRanges(IReadOnlyList<byte[]> payloads)
    {
        var frames = new List<(byte[] Frame, int Start, int Count)>();
        var start = 0;
        while (start < payloads.Count)
        {
            var size = HeaderBytes;
            var end = start;
            while (end < payloads.Count && end - start < MaxParts && size + 4 + payloads[end].Length <= MaxBytes)
            {
                size += 4 + payloads[end].Length;
                end++;
            }

            if (end - start <= 1)
            {
                frames.Add((payloads[start], start, 1));
                start++;
                continue;
            }

            var frame = new byte[size];
            frame[0] = 0x01;
            frame[1] = (byte)'m';
            var at = HeaderBytes;
            for (var i = start; i < end; i++)
            {
                BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(at), payloads[i].Length);
                payloads[i].CopyTo(frame.AsSpan(at + 4));
                at += 4 + payloads[i].Length;
            }

            frames.Add((frame, start, end - start));
            start = end;
        }

        return frames;
    }

    /// <summary>The envelopes of a burst frame from untrusted bytes, or null when the frame is not well formed (a part
    /// that is empty, runs past the end, or is itself a control frame).</summary>
    public static List<byte[]>? TrySplit(ReadOnlySpan<byte> frame)
    {
        if (!IsBurst(frame) || frame.Length > MaxBytes)
        {
            return null;
        }

        var parts = new List<byte[]>();
        var rest = frame[HeaderBytes..];
        while (!rest.IsEmpty)
        {
            if (rest.Length < 4 || parts.Count == MaxParts)
            {
                return null;
            }

            var length = BinaryPrimitives.ReadInt32BigEndian(rest);
            if (length <= 0 || length > rest.Length - 4 || rest[4] == 0x01)
            {
                return null;
            }

            parts.Add(rest.Slice(4, length).ToArray());
            rest = rest[(4 + length)..];
        }

        return parts.Count == 0 ? null : parts;
    }
}
