using Mesh.Peer.Configuration;
using Mesh.Peer.Groups;

namespace Mesh.Peer.Session;

/// <summary>What <c>/invite [G] [--ttl D]</c> asks for: the group (the current one by default) and how long the invite
/// may be used. Parsed when the line is typed.</summary>
internal sealed record InviteArguments(string Group, TimeSpan Lifetime)
{
    /// <summary>The words after <c>/invite</c>; <paramref name="current"/> is the group lines go to now. Null and a
    /// one-line <paramref name="error"/> with the usage when they are not right.</summary>
    public static InviteArguments? Parse(string? argument, string? current, out string error)
    {
        var problem = Read(argument, current, out var parsed);
        error = problem is null ? "" : LineCommand.UsageError(LineCommand.Kinds.Invite, problem);
        return parsed;
    }

    private static string? Read(string? argument, string? current, out InviteArguments? parsed)
    {
        parsed = null;
        if (CommandWords.Split(argument) is not { } words)
        {
            return "too many words";
        }

        string? group = null;
        string? ttl = null;
        for (var i = 0; i < words.Length; i++)
        {
            var word = words[i];
            if (word.StartsWith("--ttl=", StringComparison.Ordinal))
            {
                ttl = word["--ttl=".Length..];
            }
            else if (word == "--ttl")
            {
                if (i + 1 == words.Length)
                {
                    return "--ttl needs a duration after it";
                }

                ttl = words[++i];
            }
            else if (word.StartsWith("--", StringComparison.Ordinal))
            {
                return $"no option '{Naming.Printable(word)}'";
            }
            else if (group is null)
            {
                group = word;
            }
            else
            {
                return $"one group at a time ('{Naming.Printable(word)}' is one too many)";
            }
        }

        group ??= current;
        if (group is null)
        {
            return "not in a group: name the group to invite to";
        }

        if (!Naming.IsValidGroup(group))
        {
            return $"invalid group name '{Naming.Printable(group)}': {Naming.GroupRule}";
        }

        try
        {
            parsed = new InviteArguments(group, ttl is null ? InviteIssuer.DefaultLifetime : InviteIssuer.ParseLifetime(ttl));
            return null;
        }
        catch (MeshException e)
        {
            return e.Message;
        }
    }
}
