using System.Globalization;

namespace Mesh.Peer.Protocol;

/// <summary>One chat message, as sent on the wire and stored in history.</summary>
/// <param name="Group">The group it was sent to.</param>
/// <param name="PeerId">The sender's peer id (derived from its public key).</param>
/// <param name="Epoch">The sender's run; a restart starts a new epoch.</param>
/// <param name="Seq">Position in the sender's run, from 1 without gaps.</param>
/// <param name="From">The sender's display name.</param>
/// <param name="SentAtMs">UTC send time, Unix milliseconds; never decreases for one sender.</param>
/// <param name="Text">The message text.</param>
public sealed record Envelope(string Group, string PeerId, long Epoch, long Seq, string From, long SentAtMs, string Text)
{
    /// <summary>Unique across all peers and runs.</summary>
    public string Id => $"{PeerId}:{Epoch}:{Seq}";

    /// <summary>The key under the group's history prefix: sorts by send time, then sender, run and position.</summary>
    public string HistoryName => string.Create(CultureInfo.InvariantCulture, $"{SentAtMs:D13}-{PeerId}-{Epoch:D13}-{Seq:D10}");

    /// <summary>Reads sender, run and position back from a history name (without opening the entry); false when the
    /// name is not one this format makes.</summary>
    public static bool TryParseHistoryName(string name, out string peerId, out long epoch, out long seq)
    {
        peerId = "";
        epoch = seq = 0;
        var parts = name.Split('-');
        if (parts.Length != 4 || parts[1].Length != Identity.PeerIdentity.PeerIdLength
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out epoch)
            || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out seq))
        {
            return false;
        }

        peerId = parts[1];
        return true;
    }

    public DateTimeOffset SentAt => DateTimeOffset.FromUnixTimeMilliseconds(SentAtMs);
}
