using Mesh.Peer.Configuration;
using Mesh.Peer.Groups;

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

        /// <summary>Make an invite code for a group, shown to this user only.</summary>
        Invite,

        /// <summary>Join a group with an invite code; also a line that is nothing but a code.</summary>
        Accept,

        /// <summary>Find a text in the group's history (the chat screen's; headless peers read history with
        /// <c>mesh history</c>).</summary>
        Search,

        /// <summary>Close the view of a group this peer is no longer in (the chat screen's).</summary>
        Close,

        /// <summary>Answer a message: <c>/reply ID TEXT</c>.</summary>
        Reply,

        /// <summary>Add a reaction to a message: <c>/react ID EMOJI</c>.</summary>
        React,

        /// <summary>Take a reaction back: <c>/unreact ID EMOJI</c>.</summary>
        Unreact,

        /// <summary>Give one's own message a new text: <c>/edit ID TEXT</c>.</summary>
        Edit,

        /// <summary>Delete one's own message (or any, as an admin): <c>/delete ID</c>.</summary>
        Delete,

        /// <summary>A direct message: <c>/msg NAME [TEXT]</c> opens the conversation of two with a member of a group this
        /// peer is in (and sends TEXT there).</summary>
        Msg,

        /// <summary>A line that starts with <c>/</c> and names no command.</summary>
        Unknown,
    }

    /// <summary>A command: its word, what it is, how it is written and what it does.</summary>
    public sealed record Entry(string Word, Kinds Kind, string Usage, string Does);

    /// <summary>The one table of commands: the parser reads it, completion offers its words, and <c>/help</c> and the
    /// unknown-command error list it, so that they cannot disagree.</summary>
    public static readonly IReadOnlyList<Entry> Table =
    [
        new("/join", Kinds.Join, "/join G [--private | --invite CODE]",
            "join a group (a new name asks to confirm before it creates an open one); --private creates it private, --invite joins with a code"),
        new("/msg", Kinds.Msg, "/msg NAME [TEXT]",
            "a direct message: opens your private conversation with NAME (a member of a group you are in; shown as @NAME) and sends TEXT there"),
        new("/leave", Kinds.Leave, "/leave [G]", "leave a group, the one shown by default"),
        new("/switch", Kinds.Switch, "/switch G", "show a group you are in"),
        new("/members", Kinds.Members, "/members", "who is in the group and online"),
        new("/me", Kinds.Message, "/me TEXT", "say what you do: * amy TEXT"),
        new("/search", Kinds.Search, "/search TEXT", "find TEXT in the group's whole history"),
        new("/close", Kinds.Close, "/close [G]", "close the view of a group you left or were removed from"),
        new("/invite", Kinds.Invite, "/invite [G] [--ttl D]",
            "make a single-use invite code to a group, the one shown by default, shown to you only (D: 90s, 30m, 24h, 7d; default 24h, at most 30d)"),
        new("/accept", Kinds.Accept, "/accept CODE",
            "join the group an invite code is for (a code without its group: /accept G CODE); a line that is only a code does this too"),
        new("/remove", Kinds.Remove, "/remove NAME", "remove a member (creator and admins)"),
        new("/admin", Kinds.Admin, "/admin NAME", "let a member remove others (creator)"),
        new("/reply", Kinds.Reply, "/reply ID TEXT", "answer the message ID (its id as shown, or on the chat screen its number)"),
        new("/react", Kinds.React, "/react ID EMOJI", "add a reaction to a message"),
        new("/unreact", Kinds.Unreact, "/unreact ID EMOJI", "take your reaction back"),
        new("/edit", Kinds.Edit, "/edit ID TEXT", "give your message a new text (everyone sees it marked edited)"),
        new("/delete", Kinds.Delete, "/delete ID", "delete your message (admins: any message)"),
        new("/help", Kinds.Help, "/help [CMD]", "list keys and commands, or say what one command does"),
        new("/quit", Kinds.Quit, "/quit", "leave every group cleanly and exit"),
    ];

    /// <summary>The command words, for completion.</summary>
    public static readonly IReadOnlyList<string> Names = Table.Select(e => e.Word).ToList();

    /// <summary>Every command, as <c>/help</c> and the unknown-command error list them.</summary>
    public static readonly string Commands = string.Join(", ", Table.Select(e => e.Usage)) + "; start a message with // to send a leading /";

    public static LineCommand Parse(string line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return new LineCommand(Kinds.Empty, null, line);
        }

        if (Invite.LooksLikeCode(line))
        {
            // Never a message: it would hand the invite to everyone in the group.
            return new LineCommand(Kinds.Accept, line.Trim(), "/accept");
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
        var kind = Table.FirstOrDefault(e => e.Word == parts[0])?.Kind ?? Kinds.Unknown;
        if (parts[0] == "/me")
        {
            // An action is a message whose text says so: every member's screen shows it as one.
            return argument is null ? new LineCommand(Kinds.Unknown, null, "/me") : new LineCommand(Kinds.Message, null, "/me " + argument);
        }

        return new LineCommand(kind, argument, parts[0]);
    }

    /// <summary>The one-line answer to a line of kind <see cref="Kinds.Unknown"/>: a known command written without what it
    /// needs (<c>/me</c> alone) is told its usage, any other word the list of commands.</summary>
    public string UnknownError => Table.FirstOrDefault(e => e.Word == Text) is { } known
        ? $"{known.Word} needs more: {known.Usage} ({known.Does})"
        : $"unknown command '{Naming.Printable(Text)}': commands are {Commands}";

    /// <summary>The one-line error for a command written wrongly: what is wrong, and how the command is written.</summary>
    public static string UsageError(Kinds kind, string problem)
    {
        var entry = Table.First(e => e.Kind == kind);
        return $"{entry.Word}: {problem} (usage: {entry.Usage})";
    }

    /// <summary>What <c>/help CMD</c> says: the command's usage and what it does (with or without its slash), or that
    /// there is no such command.</summary>
    public static string HelpFor(string command)
    {
        var word = command.StartsWith('/') ? command : "/" + command;
        return Table.FirstOrDefault(e => e.Word == word) is { } known
            ? $"{known.Usage}: {known.Does}"
            : $"no command '{Naming.Printable(word)}': commands are {Commands}";
    }
}
