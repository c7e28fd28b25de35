using Mesh.Peer.Configuration;

namespace Mesh.Peer.Session;

/// <summary>Typed lines: each is routed, the moment it is taken, to the lane of the group it concerns (a message to
/// the current group, <c>/join G</c> to G's), so that it keeps its order with that group's work and waits for no other
/// group's. Commands that need no lane (<c>/switch</c>, <c>/help</c>) are done at once. Session loop only.</summary>
internal sealed class LineHandler(SessionCore core, SessionParts parts, Action lineTaken)
{
    /// <summary>How many <c>/join</c>s of each group are queued or running: <c>/switch</c> may go to such a group, and
    /// lines then wait for its join.</summary>
    private readonly Dictionary<string, int> _joining = new(StringComparer.Ordinal);

    /// <summary>Decides where a typed line goes (see <see cref="ISessionHandler.Route"/>): a message or a command of
    /// one group to <paramref name="group"/> when given (the group the chat screen shows as it was typed), else to the
    /// current group.</summary>
    public (string? Lane, SessionInput? Work) Route(string line, string? group = null)
    {
        var command = LineCommand.Parse(line);
        // The chat screen shows a direct conversation by its label: lines typed there go to its group.
        group = group is null ? null : core.Labels.GroupOf(group);
        string? lane = null;
        SessionInput? work = null;
        switch (command.Kind)
        {
            case LineCommand.Kinds.Empty:
                break;
            case LineCommand.Kinds.Message or LineCommand.Kinds.Remove or LineCommand.Kinds.Admin or LineCommand.Kinds.Members
                or LineCommand.Kinds.Reply or LineCommand.Kinds.React or LineCommand.Kinds.Unreact or LineCommand.Kinds.Edit or LineCommand.Kinds.Delete:
                lane = group ?? core.Current;
                if (group is not null && !core.Groups.ContainsKey(group) && !_joining.ContainsKey(group))
                {
                    core.Emit(new ErrorEvent($"not in group '{group}': nothing sent (/join {group} first)") { Group = group });
                    lane = null;
                }
                else if (lane is null)
                {
                    core.Emit(new ErrorEvent(command.Kind == LineCommand.Kinds.Message
                        ? "not in any group: /join a group first"
                        : $"{command.Text.Split(' ')[0]}: not in a group"));
                }

                break;
            case LineCommand.Kinds.Join or LineCommand.Kinds.Accept:
                var join = command.Kind == LineCommand.Kinds.Join
                    ? JoinArguments.ParseJoin(command.Argument, out var joinError)
                    : JoinArguments.ParseAccept(command.Argument, out joinError);
                if (join is null)
                {
                    core.Emit(new ErrorEvent(joinError));
                    break;
                }

                lane = join.Group;
                work = new SessionInput.JoinLine(join);
                _joining[lane] = _joining.GetValueOrDefault(lane) + 1;
                // Lines typed next go to this group when there is no other: they wait for its join.
                core.Current ??= lane;
                break;
            case LineCommand.Kinds.Msg:
                (lane, work) = RouteDirect(command);
                break;
            case LineCommand.Kinds.Invite:
                if (InviteArguments.Parse(command.Argument, group ?? core.Current, out var inviteError) is not { } invite)
                {
                    core.Emit(new ErrorEvent(inviteError));
                    break;
                }

                if (core.Groups.TryGetValue(invite.Group, out var invited) && invited.Follower is not null && invited.Log.IsDirect)
                {
                    core.Emit(new ErrorEvent(LineCommand.UsageError(LineCommand.Kinds.Invite, "a direct conversation is of two: no one is invited to it")));
                    break;
                }

                lane = invite.Group;
                work = new SessionInput.InviteLine(invite);
                break;
            case LineCommand.Kinds.Leave:
                lane = RequireGroupArgument(LineCommand.Kinds.Leave, command.Argument ?? group ?? core.Current);
                break;
            case LineCommand.Kinds.Switch:
                if (RequireGroupArgument(LineCommand.Kinds.Switch, command.Argument) is { } target)
                {
                    if (core.Groups.ContainsKey(target) || _joining.ContainsKey(target))
                    {
                        core.Current = target;
                    }
                    else
                    {
                        core.Emit(new ErrorEvent($"/switch: not in group '{target}' (use /join {target})"));
                    }
                }

                break;
            case LineCommand.Kinds.Quit:
                // Like end of input: whatever was typed before leaves first.
                core.Post(new SessionInput.EndOfInput());
                break;
            case LineCommand.Kinds.Help when !string.IsNullOrWhiteSpace(command.Argument):
                core.Emit(new InfoEvent(LineCommand.HelpFor(command.Argument)));
                break;
            case LineCommand.Kinds.Help:
                core.Emit(new InfoEvent($"commands: {LineCommand.Commands}"));
                break;
            case LineCommand.Kinds.Search:
                core.Emit(new ErrorEvent("/search is the chat screen's: headless, read the history with 'mesh history G' and search that"));
                break;
            case LineCommand.Kinds.Close:
                core.Emit(new ErrorEvent("/close is the chat screen's: headless, a group left is closed already"));
                break;
            default:
                core.Emit(new ErrorEvent(command.UnknownError));
                break;
        }

        if (lane is null)
        {
            lineTaken();
            return (null, null);
        }

        return (lane, work ?? new SessionInput.GroupLine(lane, command));
    }

    /// <summary><c>/msg NAME [TEXT]</c>: the member is found now (a bad name is said at once, in one line); the
    /// conversation is opened and the text sent in the conversation's lane.</summary>
    private (string? Lane, SessionInput? Work) RouteDirect(LineCommand command)
    {
        var words = command.Argument?.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        if (words.Length == 0)
        {
            core.Emit(new ErrorEvent(LineCommand.UsageError(LineCommand.Kinds.Msg, "name the member")));
            return (null, null);
        }

        // A conversation this peer is in goes by its label, whatever the shared groups say of the name now.
        var text = words.Length > 1 ? words[1] : null;
        if (core.Groups.TryGetValue(core.Labels.GroupOf(words[0].StartsWith('@') ? words[0] : "@" + words[0]), out var open)
            && open.Follower is not null && open.Log.PartnerOf(core.PeerId) is { } with && open.Log.Members.ContainsKey(core.PeerId))
        {
            return (open.Name, new SessionInput.DirectLine(open.Name, with, text));
        }

        var logs = core.Groups.Values.Where(s => s.Follower is not null).Select(s => s.Log);
        if (Groups.DirectPartner.Resolve(words[0], core.PeerId, core.Name, logs, out var problem) is not { } partner)
        {
            core.Emit(new ErrorEvent(LineCommand.UsageError(LineCommand.Kinds.Msg, problem)));
            return (null, null);
        }

        var group = Groups.DirectName.Of(core.PeerId, partner.PeerId);
        return (group, new SessionInput.DirectLine(group, partner, text));
    }

    /// <summary>A <c>/msg</c> in its conversation's lane: opened if need be, then the text sent.</summary>
    public async Task DirectAsync(SessionInput.DirectLine line, CancellationToken ct)
    {
        if (line.Typed)
        {
            lineTaken();
        }

        await parts.Direct.OpenAsync(line.Group, line.Partner, ct);
        if (line.Text is { } text && core.Groups.ContainsKey(line.Group))
        {
            Send(line.Group, text);
        }
    }

    /// <summary>Handles a line in its group's lane.</summary>
    public async Task HandleAsync(SessionInput.GroupLine line, CancellationToken ct)
    {
        lineTaken();
        var (group, command) = (line.Group, line.Command);
        if (command.Kind == LineCommand.Kinds.Message)
        {
            Send(group, command.Text);
            return;
        }

        if (command.Kind is LineCommand.Kinds.Reply or LineCommand.Kinds.React or LineCommand.Kinds.Unreact or LineCommand.Kinds.Edit or LineCommand.Kinds.Delete)
        {
            // In the order typed with the group's messages: no flush before it.
            parts.Kinds.Handle(group, command);
            return;
        }

        // A command can leave or switch groups: what was typed before it leaves first, as it was typed.
        core.Sender?.Flush();
        switch (command.Kind)
        {
            case LineCommand.Kinds.Leave:
                parts.Lifecycle.Leave(group);
                break;
            case LineCommand.Kinds.Remove:
                parts.Commands.Remove(group, command.Argument);
                break;
            case LineCommand.Kinds.Admin:
                parts.Commands.GrantAdmin(group, command.Argument);
                break;
            case LineCommand.Kinds.Members:
                parts.Commands.ListMembers(group);
                break;
        }
    }

    /// <summary>Joins a group in its lane: <c>/join G</c> (which asks before it creates one), <c>/join G --private</c>,
    /// <c>/join G --invite CODE</c> or <c>/accept CODE</c>.</summary>
    public async Task JoinAsync(SessionInput.JoinLine line, CancellationToken ct)
    {
        lineTaken();
        core.Sender?.Flush();
        var (group, request) = (line.Join.Group, line.Join.Request);
        try
        {
            if (!line.Join.Confirm || await parts.Joiner.ConfirmedAsync(group, ct))
            {
                await parts.Joiner.JoinAsync(group, request, ct);
                core.Current ??= group;
            }
        }
        finally
        {
            if (--_joining[group] == 0)
            {
                _joining.Remove(group);
                if (core.Current == group && !core.Groups.ContainsKey(group))
                {
                    // No join of it left: lines go to a group this peer is in, if any.
                    core.Current = core.Groups.Keys.FirstOrDefault();
                }
            }
        }
    }

    /// <summary><c>/invite</c> in its group's lane: handed to <see cref="Invitations"/>, which makes it off the loop.</summary>
    public void Invite(SessionInput.InviteLine line)
    {
        lineTaken();
        parts.Invitations.Invite(line.Invite.Group, line.Invite.Lifetime);
    }

    private string? RequireGroupArgument(LineCommand.Kinds command, string? argument)
    {
        argument = argument is null ? null : core.Labels.GroupOf(argument);
        if (argument is null)
        {
            core.Emit(new ErrorEvent(LineCommand.UsageError(command, "name a group")));
            return null;
        }

        if (!Naming.IsValidGroup(argument))
        {
            core.Emit(new ErrorEvent(LineCommand.UsageError(command, $"invalid group name '{Naming.Printable(argument)}': {Naming.GroupRule}")));
            return null;
        }

        return argument;
    }

    private void Send(string group, string text)
    {
        if (!core.Groups.TryGetValue(group, out var state))
        {
            core.Emit(new ErrorEvent("not in any group: /join a group first"));
            return;
        }

        if (text.Length > 0 && text[0] == Protocol.KindText.Marker)
        {
            // That start is how reactions, edits and deletes are written: a typed text may not forge one.
            core.Emit(new ErrorEvent("message not sent: it starts with the control character U+001E") { Group = group });
            return;
        }

        (core.Sender ?? throw new InvalidOperationException("a line was taken before the session started")).Type(state, text, core.NowMs);
    }
}
