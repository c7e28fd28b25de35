using System.Globalization;

namespace Mesh.Peer.Protocol;

/// <summary>One chat message, as sent on the wire and stored in history.</summary>
/// <param name="Group">The group it was sent to.</param>
/// <param name="PeerId">The sender's peer id (derived from its public key).</param>
/// <param name="Epoch">The sender's run; a restart starts a new epoch.</param>
/// <param name="Seq">Position in the sender's run in this group, from 1 without gaps.</param>
/// <param name="From">The sender's display name.</param>
/// <param name="SentAtMs">UTC send time by the sender's clock, Unix milliseconds: what is shown.</param>
/// <param name="Text">The message text.</param>
/// <param name="OrderMs">The message's order stamp (see <see cref="HybridClock"/>): later than every message its
/// sender had seen, never decreasing for one sender; 0 in messages of the format before it (their send time orders them).</param>
public sealed record Envelope(string Group, string PeerId, long Epoch, long Seq, string From, long SentAtMs, string Text, long OrderMs = 0)
{
    /// <summary>What history keys and every view order by.</summary>
    public long Order => OrderMs > 0 ? OrderMs : SentAtMs;

    /// <summary>Unique within the group across all peers and runs (with the group: unique everywhere).</summary>
    public string Id => $"{PeerId}:{Epoch}:{Seq}";

    /// <summary>The key under the group's history prefix: sorts by order stamp, then sender, run and position, so
    /// that etcd lists a group's history in one causal order.</summary>
    public string HistoryName => string.Create(CultureInfo.InvariantCulture, $"{Order:D13}-{PeerId}-{Epoch:D13}-{Seq:D10}");

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

    /// <summary>The last group-log index its sender had applied when it sealed it (as opened; 0 for a message made
    /// here and not sealed yet): what it may do is judged at that point of the log, by every reader alike.</summary>
    public long LogHead { get; init; }

    /// <summary>Set on a deleted message read from its tombstone (<see cref="Tombstone"/>): the delete that took it
    /// (this message then has no text). Never on the wire: only a reader that checked the tombstone sets it.</summary>
    public Envelope? Deletion { get; init; }
}
