using System.Globalization;
using System.Text;

namespace Mesh.Peer.Protocol;

/// <summary>What a member has sent to a group so far: the last sequence number of each of its runs that it announces.
/// Published once a second on the group's topic, after the messages themselves (a link delivers in order), so a
/// receiver that has not seen a number announced knows it missed a message, without watching history.</summary>
/// <remarks>
/// Wire form: <c>0x01 'b'</c> then, for each run, <c>' ' epoch ':' seq</c> in ASCII decimal. The byte 0x01 cannot
/// start an envelope (a JSON object). No signature: a beat arrives on the link to one member, whose Curve key
/// authenticates it; a member that lies in its beats only makes receivers read history in vain, at a bounded pace.
/// </remarks>
public sealed record MemberBeat(IReadOnlyList<MemberBeat.Tail> Tails)
{
    /// <summary>The last number sent in one run (epoch) of a member.</summary>
    public readonly record struct Tail(long Epoch, long LastSeq);

    /// <summary>Runs named in one beat at most: this run and a few earlier ones whose outbox this run wrote.</summary>
    public const int MaxTails = 8;

    public const int MaxBytes = 2 + MaxTails * 42;

    public static bool IsBeat(ReadOnlySpan<byte> payload) => payload.Length >= 2 && payload[0] == 0x01 && payload[1] == (byte)'b';

    public byte[] Encode()
    {
        var text = new StringBuilder("\u0001b");
        foreach (var tail in Tails.Take(MaxTails))
        {
            text.Append(CultureInfo.InvariantCulture, $" {tail.Epoch}:{tail.LastSeq}");
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>The beat in untrusted bytes, or null when they are not a well-formed one.</summary>
    public static MemberBeat? TryParse(ReadOnlySpan<byte> payload)
    {
        if (!IsBeat(payload) || payload.Length > MaxBytes)
        {
            return null;
        }

        var tails = new List<Tail>();
        var rest = payload[2..];
        while (!rest.IsEmpty)
        {
            if (rest[0] != (byte)' ' || tails.Count == MaxTails)
            {
                return null;
            }

            rest = rest[1..];
            var end = rest.IndexOf((byte)' ');
            var item = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[end..];
            var colon = item.IndexOf((byte)':');
            if (colon <= 0 || !TryNumber(item[..colon], out var epoch) || !TryNumber(item[(colon + 1)..], out var seq) || seq == 0)
            {
                return null;
            }

            tails.Add(new Tail(epoch, seq));
        }

        return new MemberBeat(tails);
    }

    private static bool TryNumber(ReadOnlySpan<byte> digits, out long value)
    {
        value = 0;
        if (digits.IsEmpty || digits.Length > 18)
        {
            return false;
        }

        foreach (var d in digits)
        {
            if (d is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            value = value * 10 + (d - '0');
        }

        return true;
    }
}
