using System.Globalization;

namespace Mesh.Peer.Ui;

/// <summary>The input line's editing, apart from the screen: readline keys, line history and completion, on a
/// text and a cursor counted in text elements (what the terminal draws as one character).</summary>
public sealed class InputLine
{
    public const int HistoryCapacity = 500;

    private readonly List<string> _history = [];
    private int _browsing = -1;
    private string _draft = "";

    /// <summary>Lines sent, oldest first (at most <see cref="HistoryCapacity"/>).</summary>
    public IReadOnlyList<string> History => _history;

    /// <summary>A line was sent: it goes into the history (not twice in a row), and browsing starts again.</summary>
    public void Sent(string line)
    {
        _browsing = -1;
        if (string.IsNullOrWhiteSpace(line) || _history.Count > 0 && _history[^1] == line)
        {
            return;
        }

        _history.Add(line);
        if (_history.Count > HistoryCapacity)
        {
            _history.RemoveAt(0);
        }
    }

    /// <summary>Up: the line before the one shown (the draft being typed is kept for Down); null at the oldest.</summary>
    public string? Older(string current)
    {
        if (_history.Count == 0 || _browsing == 0)
        {
            return null;
        }

        if (_browsing < 0)
        {
            _draft = current;
            _browsing = _history.Count;
        }

        return _history[--_browsing];
    }

    /// <summary>Down: the line after the one shown, and past the newest the draft again; null when not browsing.</summary>
    public string? Newer()
    {
        if (_browsing < 0)
        {
            return null;
        }

        if (++_browsing >= _history.Count)
        {
            _browsing = -1;
            return _draft;
        }

        return _history[_browsing];
    }

    /// <summary>Ctrl+U: everything before the cursor goes.</summary>
    public static (string Text, int Cursor) KillToStart(string text, int cursor)
    {
        var e = Elements(text);
        cursor = Math.Clamp(cursor, 0, e.Count);
        return (string.Concat(e.Skip(cursor)), 0);
    }

    /// <summary>Ctrl+K: everything from the cursor on goes.</summary>
    public static (string Text, int Cursor) KillToEnd(string text, int cursor)
    {
        var e = Elements(text);
        cursor = Math.Clamp(cursor, 0, e.Count);
        return (string.Concat(e.Take(cursor)), cursor);
    }

    /// <summary>Ctrl+W: the word before the cursor goes, with the spaces after it.</summary>
    public static (string Text, int Cursor) KillWord(string text, int cursor)
    {
        var e = Elements(text);
        cursor = Math.Clamp(cursor, 0, e.Count);
        var start = cursor;
        while (start > 0 && string.IsNullOrWhiteSpace(e[start - 1]))
        {
            start--;
        }

        while (start > 0 && !string.IsNullOrWhiteSpace(e[start - 1]))
        {
            start--;
        }

        return (string.Concat(e.Take(start).Concat(e.Skip(cursor))), start);
    }

    /// <summary>Tab: completes the word before the cursor, a command at the start of the line or a member's name
    /// (followed by ": " when it starts the line); with several candidates, as far as they agree, and they are named.</summary>
    public static (string Text, int Cursor, IReadOnlyList<string> Candidates) Complete(string text, int cursor, IEnumerable<string> names)
    {
        var e = Elements(text);
        cursor = Math.Clamp(cursor, 0, e.Count);
        var start = cursor;
        while (start > 0 && !string.IsNullOrWhiteSpace(e[start - 1]))
        {
            start--;
        }

        var word = string.Concat(e.Skip(start).Take(cursor - start));
        var command = start == 0 && word.StartsWith('/');
        var pool = command ? LineCommandNames() : names.Where(n => n.Length > 0);
        var candidates = word.Length == 0 && !command ? [] : pool.Where(n => n.StartsWith(word, StringComparison.OrdinalIgnoreCase)).Distinct().Order(StringComparer.Ordinal).ToList();
        if (candidates.Count == 0)
        {
            return (text, cursor, []);
        }

        var completed = candidates.Count == 1 ? candidates[0] + (command ? " " : start == 0 ? ": " : " ") : CommonPrefix(candidates);
        if (completed.Length < word.Length)
        {
            return (text, cursor, candidates);
        }

        var before = string.Concat(e.Take(start));
        var after = string.Concat(e.Skip(cursor));
        return (before + completed + after, start + Elements(completed).Count, candidates.Count == 1 ? [] : candidates);
    }

    private static IEnumerable<string> LineCommandNames() => Session.LineCommand.Names;

    private static string CommonPrefix(List<string> words)
    {
        var prefix = words[0];
        foreach (var w in words.Skip(1))
        {
            var n = 0;
            while (n < prefix.Length && n < w.Length && char.ToLowerInvariant(prefix[n]) == char.ToLowerInvariant(w[n]))
            {
                n++;
            }

            prefix = prefix[..n];
        }

        return prefix;
    }

    /// <summary>The text elements of <paramref name="text"/> (a ZWJ sequence or a flag is one).</summary>
    public static List<string> Elements(string text)
    {
        var elements = new List<string>(text.Length);
        var e = StringInfo.GetTextElementEnumerator(text);
        while (e.MoveNext())
        {
            elements.Add(e.GetTextElement());
        }

        return elements;
    }
}
