using Mesh.Peer.Configuration;
using Mesh.Peer.Groups;

namespace Mesh.Peer.Session;

/// <summary>What <c>/join G [--private | --invite CODE]</c> and <c>/accept [G] CODE</c> ask for: the group, and how to
/// join it. Parsed when the line is typed, so that a mistake is said at once, in one line with the usage.</summary>
internal sealed record JoinArguments(string Group, JoinRequest Request)
{
    /// <summary>A plain <c>/join</c> of a name etcd does not have asks before it creates an open group; creating a
    /// private one or redeeming a code was asked for in so many words.</summary>
    public bool Confirm => !Request.Private && Request.Invite is null;

    /// <summary>The words after <c>/join</c>; null and a one-line <paramref name="error"/> when they are not right.</summary>
    public static JoinArguments? ParseJoin(string? argument, out string error)
    {
        error = "";
        if (CommandWords.Split(argument) is not { } words)
        {
            error = LineCommand.UsageError(LineCommand.Kinds.Join, "too many words");
            return null;
        }

        string? group = null;
        string? code = null;
        var isPrivate = false;
        for (var i = 0; i < words.Length; i++)
        {
            string? problem = null;
            if (words[i] == "--private")
            {
                isPrivate = true;
            }
            else if (words[i] == "--invite")
            {
                problem = code is not null ? "one --invite at a time" : i + 1 == words.Length ? "--invite needs the code after it" : null;
                code = i + 1 < words.Length ? words[++i] : null;
            }
            else if (words[i].StartsWith("--", StringComparison.Ordinal))
            {
                problem = $"no option '{Naming.Printable(words[i])}'";
            }
            else if (group is null)
            {
                group = words[i];
            }
            else
            {
                problem = $"one group at a time ('{Naming.Printable(words[i])}' is one too many)";
            }

            if (problem is not null)
            {
                error = LineCommand.UsageError(LineCommand.Kinds.Join, problem);
                return null;
            }
        }

        if (group is null || (isPrivate && code is not null))
        {
            error = LineCommand.UsageError(LineCommand.Kinds.Join, group is null ? "name a group" : "--private creates a group and --invite joins one: not both");
            return null;
        }

        var parsed = Checked(group, new JoinRequest(Private: isPrivate, Invite: code), out var why);
        error = parsed is null ? LineCommand.UsageError(LineCommand.Kinds.Join, why) : "";
        return parsed;
    }

    /// <summary>The words after <c>/accept</c> (or a line that is only a code): the code, with the group before it when
    /// the code is of the older form that does not name it.</summary>
    public static JoinArguments? ParseAccept(string? argument, out string error)
    {
        error = "";
        var words = CommandWords.Split(argument);
        var (group, code) = words switch
        {
            [var only] => ((string?)null, only),
            [var named, var given] => (named, given),
            _ => (null, null),
        };
        if (code is null)
        {
            error = LineCommand.UsageError(LineCommand.Kinds.Accept, words is { Length: 0 } ? "give the invite code" : "give the invite code alone");
            return null;
        }

        if (group is null)
        {
            try
            {
                using var invite = Invite.Parse(code, "the code");
                group = invite.Group;
            }
            catch (MeshException e)
            {
                error = LineCommand.UsageError(LineCommand.Kinds.Accept, e.Message);
                return null;
            }

            if (group is null)
            {
                error = LineCommand.UsageError(LineCommand.Kinds.Accept,
                    "this code is of an older form that does not name its group: type /accept G CODE with the group it is for");
                return null;
            }
        }

        var parsed = Checked(group, new JoinRequest(Invite: code), out var problem);
        error = parsed is null ? LineCommand.UsageError(LineCommand.Kinds.Accept, problem) : "";
        return parsed;
    }

    /// <summary>The group's name is valid and a code (if any) parses and is for that group; the problem otherwise.</summary>
    private static JoinArguments? Checked(string group, JoinRequest request, out string problem)
    {
        problem = "";
        if (!Naming.IsValidGroup(group))
        {
            problem = $"invalid group name '{Naming.Printable(group)}': {Naming.GroupRule}";
            return null;
        }

        if (request.Invite is { } code)
        {
            try
            {
                using var invite = Invite.Parse(code, "the code");
                if (invite.Group is { } named && named != group)
                {
                    problem = $"the code is for group '{named}', not '{group}'";
                    return null;
                }
            }
            catch (MeshException e)
            {
                problem = e.Message;
                return null;
            }
        }

        return new JoinArguments(group, request);
    }
}
