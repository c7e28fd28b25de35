using System.Globalization;
using System.Text;

namespace Mesh.Peer.Protocol;

/// <summary>What a member has sent to a group so far: the last sequence number of each of its runs that it announces.
/// Published once a second on the group's topic, after the messages themselves (a link delivers in order), so a
/// receiver that has not seen a number announced knows it missed a message, without watching history.</summary>
/// <para>A beat also measures round trips: it carries its send time on the sender's monotonic clock and echoes the
/// last beat heard from each member with how long it was held; a member that finds its own beat echoed subtracts
/// (see <c>LinkRtt</c>). Each end reads only its own clock.</para>
/// <remarks>
/// Wire form: <c>0x01 'b'</c> then, for each run, <c>' ' epoch ':' seq</c> in ASCII decimal; then <c>' @' sentUs</c>;
/// then for each echo <c>' ^' peer '/' sentUs '/' heldUs</c> (peer: the first 16 hex digits of the member's id). The
/// byte 0x01 cannot start an envelope (a JSON object). No signature: a beat arrives on the link to one member, whose
/// Curve key authenticates it; a member that lies in its beats only makes receivers read history in vain, at a
/// bounded pace, or shows a wrong round trip to itself.
/// </remarks>
public sealed record MemberBeat(IReadOnlyList<MemberBeat.Tail> Tails)
{
    /// <summary>The beat heard last from one member, given back: its send time and how long it was held here.</summary>
    public readonly record struct Echo(string Peer, long SentUs, long HeldUs);

    /// <summary>When the beat left, in microseconds of the sender's monotonic clock (null from a beat without it).</summary>
    public long? SentUs { get; init; }

    public IReadOnlyList<Echo> Echoes { get; init; } = [];

    /// <summary>The sender's view of the group log: its head's index and the first <see cref="HeadHashPrefix"/> hex
    /// digits of its hash (null from a beat without it). A receiver whose entry at that index differs has forked from
    /// the sender, and reads etcd's entry there at once.</summary>
    public (long Index, string Hash)? Head { get; init; }

    /// <summary>Hex digits of the head's hash a beat carries.</summary>
    public const int HeadHashPrefix = 16;

    /// <summary>Echoes in one beat at most: a beat stays a few kilobytes in the largest group.</summary>
    public const int MaxEchoes = 64;

    /// <summary>Hex digits of a member's id that name it in an echo.</summary>
    public const int PeerPrefix = 16;

    /// <summary>The last number sent in one run (epoch) of a member.</summary>
    public readonly record struct Tail(long Epoch, long LastSeq);

    /// <summary>Runs named in one beat at most: this run and a few earlier ones whose outbox this run wrote.</summary>
    public const int MaxTails = 8;

    public const int MaxBytes = 2 + MaxTails * 42 + 22 + MaxEchoes * (2 + PeerPrefix + 2 + 2 * 19) + 2 + 19 + 1 + HeadHashPrefix;

    public static bool IsBeat(ReadOnlySpan<byte> payload) => payload.Length >= 2 && payload[0] == 0x01 && payload[1] == (byte)'b';

    public byte[] Encode()
    {
        var text = new StringBuilder("\u0001b");
        foreach (var tail in Tails.Take(MaxTails))
        {
            text.Append(CultureInfo.InvariantCulture, $" {tail.Epoch}:{tail.LastSeq}");
        }

        if (SentUs is { } sent)
        {
            text.Append(CultureInfo.InvariantCulture, $" @{sent}");
        }

        foreach (var echo in Echoes.Take(MaxEchoes))
        {
            text.Append(CultureInfo.InvariantCulture, $" ^{echo.Peer}/{echo.SentUs}/{echo.HeldUs}");
        }

        if (Head is { } head)
        {
            text.Append(CultureInfo.InvariantCulture, $" #{head.Index}/{head.Hash}");
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
        var echoes = new List<Echo>();
        long? sent = null;
        (long, string)? logHead = null;
        var rest = payload[2..];
        while (!rest.IsEmpty)
        {
            if (rest[0] != (byte)' ' || rest.Length < 2)
            {
                return null;
            }

            rest = rest[1..];
            var end = rest.IndexOf((byte)' ');
            var item = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[end..];
            if (item.IsEmpty)
            {
                return null;
            }

            if (logHead is not null)
            {
                // The head comes last.
                return null;
            }

            switch (item[0])
            {
                case (byte)'#':
                    var slash = item.IndexOf((byte)'/');
                    if (slash <= 1 || !TryNumber(item[1..slash], out var index) || item.Length - slash - 1 != HeadHashPrefix || !IsHex(item[(slash + 1)..]))
                    {
                        return null;
                    }

                    logHead = (index, Encoding.ASCII.GetString(item[(slash + 1)..]));
                    break;
                case (byte)'@':
                    // One send time, after the tails.
                    if (sent is not null || echoes.Count > 0 || !TryNumber(item[1..], out var at))
                    {
                        return null;
                    }

                    sent = at;
                    break;
                case (byte)'^':
                    if (echoes.Count == MaxEchoes || TryEcho(item[1..]) is not { } echo)
                    {
                        return null;
                    }

                    echoes.Add(echo);
                    break;
                default:
                    var colon = item.IndexOf((byte)':');
                    if (sent is not null || echoes.Count > 0 || tails.Count == MaxTails || colon <= 0
                        || !TryNumber(item[..colon], out var epoch) || !TryNumber(item[(colon + 1)..], out var seq) || seq == 0)
                    {
                        return null;
                    }

                    tails.Add(new Tail(epoch, seq));
                    break;
            }
        }

        return new MemberBeat(tails) { SentUs = sent, Echoes = echoes, Head = logHead };
    }

    /// <summary><c>peer '/' sentUs '/' heldUs</c>, the peer 16 lower-case hex digits.</summary>
    private static Echo? TryEcho(ReadOnlySpan<byte> item)
    {
        if (item.Length < PeerPrefix + 4 || item[PeerPrefix] != (byte)'/')
        {
            return null;
        }

        if (!IsHex(item[..PeerPrefix]))
        {
            return null;
        }

        var times = item[(PeerPrefix + 1)..];
        var slash = times.IndexOf((byte)'/');
        if (slash <= 0 || !TryNumber(times[..slash], out var sentUs) || !TryNumber(times[(slash + 1)..], out var heldUs))
        {
            return null;
        }

        return new Echo(System.Text.Encoding.ASCII.GetString(item[..PeerPrefix]), sentUs, heldUs);
    }

    /// <summary>Lower-case hex digits only.</summary>
    private static bool IsHex(ReadOnlySpan<byte> digits)
    {
        foreach (var c in digits)
        {
            if (c is not ((>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f')))
            {
                return false;
            }
        }

        return true;
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
