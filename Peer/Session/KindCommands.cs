using Mesh.Peer.Configuration;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary><c>/reply</c>, <c>/react</c>, <c>/unreact</c>, <c>/edit</c> and <c>/delete</c>: checked here (an id this
/// peer has seen in the group, one's own message to edit, one's own or an admin's to delete, a real emoji), then sent
/// as an ordinary message whose text holds the <see cref="KindRecord"/>. Anything wrong is one error naming it and
/// the command's usage. Session loop only.</summary>
internal sealed class KindCommands(SessionCore core, Action<GroupState, string> send)
{
    public void Handle(string group, LineCommand command)
    {
        var kind = command.Kind switch
        {
            LineCommand.Kinds.Reply => MessageKind.Reply,
            LineCommand.Kinds.React => MessageKind.React,
            LineCommand.Kinds.Unreact => MessageKind.Unreact,
            LineCommand.Kinds.Edit => MessageKind.Edit,
            _ => MessageKind.Delete,
        };
        if (!core.Groups.TryGetValue(group, out var state))
        {
            core.Emit(new ErrorEvent(LineCommand.UsageError(command.Kind, $"not in group '{group}'")) { Group = group });
            return;
        }

        if (Check(state, kind, command.Argument, out var record) is { } problem)
        {
            core.Emit(new ErrorEvent(LineCommand.UsageError(command.Kind, problem)) { Group = group });
            return;
        }

        send(state, KindText.Encode(record!));
    }

    /// <summary>What is wrong with <paramref name="argument"/> for <paramref name="kind"/> in the group, or null (and the record).</summary>
    private string? Check(GroupState state, MessageKind kind, string? argument, out KindRecord? record)
    {
        record = null;
        var parts = (argument ?? "").Split(' ', 2, StringSplitOptions.TrimEntries);
        var id = parts[0];
        var content = parts.Length > 1 ? parts[1] : "";
        if (id.Length == 0)
        {
            return "name a message by its id";
        }

        if (!KindText.IsId(id))
        {
            return $"'{Naming.Printable(id[..Math.Min(id.Length, 80)])}' is not a message id (an id reads PEER:RUN:NUMBER, as events and 'mesh history --json' print it)";
        }

        var (peerId, run, seq) = KindText.PartsOf(id);
        if (!state.Streams.Holds(peerId, run, seq))
        {
            return $"no message {id} in '{state.Name}' (an id of another group, or of a message not seen here)";
        }

        switch (kind)
        {
            case MessageKind.React or MessageKind.Unreact when !KindText.IsReaction(content):
                return content.Length == 0 ? "say which emoji" : $"a reaction is one emoji or a short word without spaces, at most {KindText.MaxReactionBytes} bytes";
            case MessageKind.Reply or MessageKind.Edit when content.Length == 0:
                return kind == MessageKind.Reply ? "say what you answer" : "give the new text";
            case MessageKind.Edit when peerId != core.PeerId:
                return "you can edit only your own messages";
            case MessageKind.Delete when content.Length > 0:
                return "a delete takes the id alone";
            case MessageKind.Delete when peerId != core.PeerId && !Conversation.MayModerate(state.Log, core.PeerId):
                return "you can delete only your own messages (the creator and admins may delete any)";
        }

        record = new KindRecord(kind, id, content);
        return null;
    }
}
