using Mesh.Peer.Groups;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary>What a delivered message means for the conversation: a plain message, a reply, or a reaction, edit or
/// delete of another message. Every receiver decides alike, from the message and the group's log alone: an edit
/// signed by anyone but the target's author, or a delete by anyone but the author or the group's creator and admins,
/// is refused (nothing is shown of it).</summary>
public static class Conversation
{
    /// <summary>Whether <paramref name="peerId"/> may delete others' messages now: the creator and admins.</summary>
    public static bool MayModerate(GroupLog log, string peerId) =>
        !log.IsDirect && (log.Creator == peerId || log.Members.TryGetValue(peerId, out var member) && member.Admin);

    /// <summary>Whether the sender of <paramref name="e"/> could delete others' messages when it sealed it (at its log
    /// head): later changes to who is admin neither take back nor grant a delete.</summary>
    public static bool MayModerate(GroupLog log, Envelope e) => log.MayModerateAt(e.PeerId, e.LogHead);

    /// <summary>The event a delivered message is; null when it is refused (a forged edit or delete).</summary>
    /// <param name="log">The group's log, for who moderates.</param>
    /// <param name="e">The message, its sender proven.</param>
    /// <param name="from">The sender as shown.</param>
    /// <param name="own">Sent by this peer.</param>
    public static MeshEvent? Interpret(GroupLog? log, Envelope e, string from, bool own)
    {
        MessageEvent Said(string text, string? replyTo = null) =>
            new(e.Group, e.Id, from, text, e.SentAt, own) { Order = e.Order, Key = e.HistoryName, PeerId = e.PeerId, ReplyTo = replyTo };

        if (e.Deletion is { } deletion)
        {
            // Read from its tombstone: the text is gone for good; the delete says by whom and when.
            return Said("") with { Deleted = new DeleteEvent(e.Group, deletion.Id, e.Id, deletion.From, deletion.SentAt) { Key = deletion.HistoryName, PeerId = deletion.PeerId } };
        }

        if (!KindText.IsKind(e.Text))
        {
            return Said(e.Text);
        }

        if (KindText.TryParse(e.Text) is not { } record)
        {
            // A kind this Mesh does not know (or a malformed one): a plain line saying what it is.
            return Said(KindText.Describe(e.Text));
        }

        if (record.Kind == MessageKind.Reply)
        {
            return Said(record.Content, record.Target);
        }

        var author = KindText.PartsOf(record.Target).PeerId;
        KindEvent? kind = record.Kind switch
        {
            MessageKind.React or MessageKind.Unreact => new ReactionEvent(e.Group, e.Id, record.Target, from, record.Content, record.Kind == MessageKind.Unreact, e.SentAt),
            MessageKind.Edit when author == e.PeerId => new EditEvent(e.Group, e.Id, record.Target, from, record.Content, e.SentAt),
            MessageKind.Delete when author == e.PeerId || log is not null && MayModerate(log, e) => new DeleteEvent(e.Group, e.Id, record.Target, from, e.SentAt),
            _ => null,
        };
        return kind is null ? null : kind with { Key = e.HistoryName, PeerId = e.PeerId, Own = own };
    }
}
