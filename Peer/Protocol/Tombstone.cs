using System.Globalization;
using Mesh.Coordinator.History;
using Mesh.Peer.Groups;

namespace Mesh.Peer.Protocol;

/// <summary>What stands in a deleted message's place in history: under the message's own name, the delete that took it
/// (the sealed, signed message of kind <see cref="MessageKind.Delete"/> naming it), in place of its text.</summary>
/// <remarks>
/// A tombstone is the one stored value whose envelope is not named as its key. It counts only when the delete inside is
/// one every receiver accepts (<see cref="Session.Conversation"/>): of exactly the message the key names, by its author
/// or by the group's creator or an admin. Anything else under a message's name is an etcd writer's and is refused as
/// before. Where a name is held twice (a tombstone beside the original, in a burst or a copy), the tombstone wins: a
/// delete never comes undone.
/// </remarks>
public static class Tombstone
{
    /// <summary>Whether a stored one-message key looks like a tombstone (its value's envelope is named otherwise);
    /// whether it is one is decided once it is opened (<see cref="TryOpen"/>).</summary>
    public static bool LooksLike(HistoryEntry entry) =>
        entry.Name.IndexOf(HistoryKey.CountMark, StringComparison.Ordinal) < 0 && entry.Value.Length > 0
        && EnvelopeCodec.TryParse(entry.Value) is { } parsed && parsed.HistoryName != entry.Name;

    /// <summary>Of two stored values of one message name, the one to keep: a tombstone over the original.</summary>
    public static HistoryEntry Prefer(HistoryEntry kept, HistoryEntry other) => !LooksLike(kept) && LooksLike(other) ? other : kept;

    /// <summary>The deleted message a stored value stands for: <paramref name="opened"/> (opened, its signature
    /// checked, from the value stored under <paramref name="name"/>) when it is a delete of exactly that message that
    /// the group accepts; null otherwise. The message has no text, its order stamp and send time are its name's, and
    /// <see cref="Envelope.Deletion"/> is the delete.</summary>
    public static Envelope? TryOpen(string name, Envelope opened, GroupLog? log)
    {
        if (KindText.TryParse(opened.Text) is not { Kind: MessageKind.Delete } record
            || !Envelope.TryParseHistoryName(name, out var peerId, out var epoch, out var seq)
            || !long.TryParse(name.AsSpan(0, name.IndexOf('-')), NumberStyles.None, CultureInfo.InvariantCulture, out var order))
        {
            return null;
        }

        var target = KindText.PartsOf(record.Target);
        if (target != (peerId, epoch, seq) || opened.Group.Length == 0)
        {
            return null;
        }

        if (peerId != opened.PeerId && (log is null || !Session.Conversation.MayModerate(log, opened)))
        {
            return null;
        }

        // The author's name as the log pinned it (departed members' too); the stored text, name and all, is gone.
        var author = log?.NameOf(peerId) ?? "";
        var slot = new Envelope(opened.Group, peerId, epoch, seq, author, order, "", order) { Deletion = opened };
        return slot.HistoryName == name ? slot : null;
    }

    /// <summary>Whether the key named <paramref name="keyName"/> holds the message <paramref name="id"/> (an
    /// <see cref="Envelope.Id"/>): it is that message's key, or a burst key of its sender's run whose numbers include it.</summary>
    public static bool Holds(string keyName, string id)
    {
        if (!KindText.IsId(id) || !HistoryKey.TryParse(keyName, out var peerId, out var epoch, out var first, out var last))
        {
            return false;
        }

        var (idPeer, idEpoch, idSeq) = KindText.PartsOf(id);
        return idPeer == peerId && idEpoch == epoch && idSeq >= first && idSeq <= last;
    }

    /// <summary>The stored value of the message <paramref name="id"/> in <paramref name="key"/> (the key itself, or
    /// its part of a burst), named for the message; null when the key does not hold it or is malformed.</summary>
    public static HistoryEntry? MessageIn(HistoryEntry key, string id) =>
        Holds(key.Name, id) ? HistoryKey.TryExpand(key)?.FirstOrDefault(m => Holds(m.Name, id)) : null;

    /// <summary>The keys that take the place of <paramref name="key"/> once the message <paramref name="target"/> in it
    /// is deleted by the stored delete <paramref name="delete"/>: the key again with the delete as its value, or, for a
    /// burst, each of its other messages as a key of its own and the delete under the target's name. Null when the key
    /// does not hold the target or holds its tombstone already.</summary>
    public static List<HistoryEntry>? Replacing(HistoryEntry key, string target, byte[] delete)
    {
        if (MessageIn(key, target) is not { } held || held.Value.AsSpan().SequenceEqual(delete))
        {
            return null;
        }

        return HistoryKey.TryExpand(key)!.ConvertAll(m => Holds(m.Name, target) ? m with { Value = delete } : m);
    }

    /// <summary>Deletes <paramref name="target"/> in a set of keys (a local copy): its key is replaced as
    /// <see cref="Replacing"/> says, the delete's stored value found among the keys by <paramref name="delete"/> (its
    /// id). False when nothing changed: the target is not held, holds its tombstone already, or the delete is not held.</summary>
    public static bool Erase(List<HistoryEntry> keys, string target, string delete)
    {
        if (keys.Select(k => MessageIn(k, delete)).FirstOrDefault(m => m is not null) is not { } stored)
        {
            return false;
        }

        var changed = false;
        for (var i = keys.Count - 1; i >= 0; i--)
        {
            if (Holds(keys[i].Name, target) && Replacing(keys[i], target, stored.Value) is { } replacing)
            {
                keys.RemoveAt(i);
                keys.InsertRange(i, replacing);
                changed = true;
            }
        }

        if (changed)
        {
            keys.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            // A message both in its burst and alone: one key of that name stays, the tombstone.
            for (var i = keys.Count - 1; i > 0; i--)
            {
                if (keys[i].Name == keys[i - 1].Name)
                {
                    keys[i - 1] = Prefer(keys[i - 1], keys[i]);
                    keys.RemoveAt(i);
                }
            }
        }

        return changed;
    }
}
