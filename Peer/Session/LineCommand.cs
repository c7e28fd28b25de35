using Mesh.Peer.Configuration;

namespace Mesh.Peer.Session;

/// <summary>What a typed line asks for: one parser for the chat screen and the headless mode, so that both know the
/// same commands and say the same about the others.</summary>
public sealed record LineCommand(LineCommand.Kinds Kind, string? Argument, string Text)
{
    public enum Kinds
    {
        /// <summary>Nothing to do (an empty or blank line).</summary>
        Empty,

        /// <summary>A message; <see cref="Text"/> is what is sent (a leading <c>//</c> sends one <c>/</c>).</summary>
        Message,
        Join,
        Leave,
        Switch,
        Members,
        Remove,
        Admin,
        Help,
        Quit,

        /// <summary>A line that starts with <c>/</c> and names no command.</summary>
        Unknown,
    }

    /// <summary>The command words, for completion (the same table <see cref="Parse"/> reads).</summary>
    public static readonly IReadOnlyList<string> Names = ["/join", "/leave", "/switch", "/members", "/remove", "/admin", "/help", "/quit"];

    /// <summary>Every command, as <c>/help</c> and the unknown-command error list them.</summary>
    public const string Commands = "/join G, /leave [G], /switch G, /members, /remove NAME, /admin NAME, /help, /quit; start a message with // to send a leading /";

    public static LineCommand Parse(string line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return new LineCommand(Kinds.Empty, null, line);
        }

        if (line.StartsWith("//", StringComparison.Ordinal))
        {
            return new LineCommand(Kinds.Message, null, line[1..]);
        }

        if (!line.StartsWith('/'))
        {
            return new LineCommand(Kinds.Message, null, line);
        }

        var parts = line.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var argument = parts.Length > 1 ? parts[1] : null;
        var kind = parts[0] switch
        {
            "/join" => Kinds.Join,
            "/leave" => Kinds.Leave,
            "/switch" => Kinds.Switch,
            "/members" => Kinds.Members,
            "/remove" => Kinds.Remove,
            "/admin" => Kinds.Admin,
            "/help" => Kinds.Help,
            "/quit" => Kinds.Quit,
            _ => Kinds.Unknown,
        };
        return new LineCommand(kind, argument, parts[0]);
    }

    /// <summary>The one-line answer to a line of kind <see cref="Kinds.Unknown"/>.</summary>
    public string UnknownError => $"unknown command '{Naming.Printable(Text)}': commands are {Commands}";
}
