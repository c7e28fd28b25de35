using Mesh.Peer.Groups;
using Mesh.Peer.Protocol;
using Mesh.Peer.Session;

namespace Mesh.Peer.Cli;

/// <summary>A group's history in its final state, as <c>mesh history</c> prints it: each message once, with the
/// newest text its author gave it, whether it was deleted (by whom, when), what it answers, and its reactions. The
/// reactions, edits and deletes themselves are folded in, not printed; the same rules as every receiver's
/// (<see cref="Conversation.Interpret"/>) decide which count.</summary>
internal static class HistoryFold
{
    /// <summary>A message as it stands.</summary>
    public sealed class Final(Envelope message, string text, string? replyTo)
    {
        public Envelope Message { get; } = message;

        public string Text { get; set; } = text;

        public string? ReplyTo { get; } = replyTo;

        public DateTimeOffset? EditedAt { get; set; }

        public (string By, DateTimeOffset At)? Deleted { get; set; }

        /// <summary>Each reaction, with who gave it (in the order they did), reactions in the order first given.</summary>
        public List<(string Emoji, List<string> From)> Reactions { get; } = [];
    }

    /// <param name="log">The group's log (who moderates).</param>
    /// <param name="opened">The messages, in the group's order.</param>
    public static List<Final> Apply(GroupLog log, IReadOnlyList<Envelope> opened)
    {
        var finals = new List<Final>();
        var byId = new Dictionary<string, Final>(StringComparer.Ordinal);
        foreach (var e in opened)
        {
            switch (Conversation.Interpret(log, e, e.From, own: false))
            {
                case MessageEvent message:
                    var final = new Final(e, message.Text, message.ReplyTo) { Deleted = message.Deleted is { } gone ? (gone.From, gone.SentAt) : null };
                    finals.Add(final);
                    byId.TryAdd(e.Id, final);
                    break;
                case EditEvent edit when byId.TryGetValue(edit.Target, out var edited) && edited.Deleted is null:
                    edited.Text = edit.Text;
                    edited.EditedAt = edit.SentAt;
                    break;
                case DeleteEvent delete when byId.TryGetValue(delete.Target, out var deleted) && deleted.Deleted is null:
                    deleted.Text = "";
                    deleted.Deleted = (delete.From, delete.SentAt);
                    deleted.Reactions.Clear();
                    break;
                case ReactionEvent reaction when byId.TryGetValue(reaction.Target, out var target) && target.Deleted is null:
                    React(target, reaction.Emoji, reaction.From, reaction.Removed);
                    break;
            }
        }

        return finals;
    }

    private static void React(Final target, string emoji, string from, bool removed)
    {
        var index = target.Reactions.FindIndex(r => r.Emoji == emoji);
        if (removed)
        {
            if (index >= 0)
            {
                target.Reactions[index].From.Remove(from);
                if (target.Reactions[index].From.Count == 0)
                {
                    target.Reactions.RemoveAt(index);
                }
            }

            return;
        }

        if (index < 0 && target.Reactions.Count < KindText.MaxReactions)
        {
            target.Reactions.Add((emoji, [from]));
        }
        else if (index >= 0 && !target.Reactions[index].From.Contains(from) && target.Reactions[index].From.Count < KindText.MaxReactors)
        {
            target.Reactions[index].From.Add(from);
        }
    }
}
