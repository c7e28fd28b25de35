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
        string? lane = null;
        switch (command.Kind)
        {
            case LineCommand.Kinds.Empty:
                break;
            case LineCommand.Kinds.Message or LineCommand.Kinds.Remove or LineCommand.Kinds.Admin or LineCommand.Kinds.Members:
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
            case LineCommand.Kinds.Join:
                if (RequireGroupArgument("/join", command.Argument) is { } joining)
                {
                    lane = joining;
                    _joining[joining] = _joining.GetValueOrDefault(joining) + 1;
                    // Lines typed next go to this group when there is no other: they wait for its join.
                    core.Current ??= joining;
                }

                break;
            case LineCommand.Kinds.Leave:
                lane = RequireGroupArgument("/leave", command.Argument ?? group ?? core.Current);
                break;
            case LineCommand.Kinds.Switch:
                if (RequireGroupArgument("/switch", command.Argument) is { } target)
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

        return (lane, new SessionInput.GroupLine(lane, command));
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

        // A command can leave or switch groups: what was typed before it leaves first, as it was typed.
        core.Sender?.Flush();
        switch (command.Kind)
        {
            case LineCommand.Kinds.Join:
                try
                {
                    if (await parts.Joiner.ConfirmedAsync(group, ct))
                    {
                        await parts.Joiner.JoinAsync(group, JoinRequest.Default, ct);
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

                break;
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

    private string? RequireGroupArgument(string command, string? argument)
    {
        if (argument is null)
        {
            core.Emit(new ErrorEvent($"{command}: name a group"));
            return null;
        }

        if (!Naming.IsValidGroup(argument))
        {
            core.Emit(new ErrorEvent($"{command}: invalid group name '{Naming.Printable(argument)}': {Naming.GroupRule}"));
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

        (core.Sender ?? throw new InvalidOperationException("a line was taken before the session started")).Type(state, text, core.NowMs);
    }
}
