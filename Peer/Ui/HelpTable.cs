using Mesh.Peer.Session;

namespace Mesh.Peer.Ui;

/// <summary><c>/help</c> on the chat screen: every key and every command, one per row, in two aligned columns.</summary>
public static class HelpTable
{
    /// <summary>The chat screen's keys and what each does.</summary>
    public static readonly IReadOnlyList<(string Key, string Does)> Keys =
    [
        ("Enter", "send the line to the group shown (a paste is one message; Enter sends it)"),
        ("Alt+1…9, Ctrl+N/P", "show group 1–9, the next, the previous"),
        ("PageUp/PageDown", "scroll (the mouse wheel too); End goes back to the newest"),
        ("Up/Down", "earlier lines you sent"),
        ("Alt+Up/Down", "select a message: /reply, /react, /edit, /delete then act on it"),
        ("Tab", "complete a name or command; again: the next candidate"),
        ("Ctrl+A/E", "start / end of the line"),
        ("Ctrl+U/W/K", "cut before the cursor / the word before it / after it"),
        ("Ctrl+Y", "put back the last cut, or the line Esc or Ctrl+C cleared"),
        ("Esc", "clear the input line (Ctrl+Y brings it back)"),
        ("Ctrl+R", "search the group's history (again: older; Enter stays, Esc back)"),
        ("F2", "show or fold the group and member panels"),
        ("F3", "plain view: bare lines, no borders, the mouse back to the terminal to select and copy"),
        ("Ctrl+C", "clear the line; on an empty one, twice to quit"),
        ("Ctrl+Q", "leave every group cleanly and quit"),
    ];

    /// <summary>The table as the text of one line: a title row, then a row per key and per command.</summary>
    public static string Text()
    {
        var rows = Keys.Select(k => (k.Key, k.Does))
            .Concat(LineCommand.Table.Select(c => (c.Usage, c.Does)))
            .Append(("//TEXT", "send TEXT with its leading / as a message"))
            .ToList();
        var width = rows.Max(r => r.Item1.Length) + 2;
        return "keys and commands (/help CMD says more of one):\n"
            + string.Join("\n", rows.Select(r => r.Item1.PadRight(width) + r.Item2));
    }
}
