using System.Globalization;
using System.Text;

namespace Mesh.Peer.Ui;

/// <summary>The input line's editing, apart from the screen: readline keys, line history and completion, on a
/// text and a cursor counted in text elements (what the terminal draws as one character).</summary>
public sealed class InputLine
{
    public const int HistoryCapacity = 500;

    private readonly List<string> _history = [];
    private int _browsing = -1;
    private string _draft = "";

    /// <summary>How many cuts the kill ring keeps.</summary>
    public const int KillRingCapacity = 16;

    private readonly List<string> _killRing = [];
    private bool _lastWasKill;
    private (List<string> Candidates, int Index, string Before, string After)? _cycle;

    /// <summary>Cut text, newest last (Ctrl+U, Ctrl+W, Ctrl+K and a draft cleared by Esc); Ctrl+Y yanks the newest.</summary>
    public IReadOnlyList<string> KillRing => _killRing;

    /// <summary>A key that is neither a cut nor Tab: the next cut starts a new entry, and Tab completes afresh.</summary>
    public void OtherKey()
    {
        _lastWasKill = false;
        _cycle = null;
    }

    /// <summary>Puts cut text on the kill ring; cuts in a row make one entry (<paramref name="before"/>: the text
    /// cut lay before what was cut just now, as Ctrl+W after Ctrl+W).</summary>
    public void Killed(string text, bool before = false)
    {
        _cycle = null;
        if (text.Length == 0)
        {
            return;
        }

        if (_lastWasKill && _killRing.Count > 0)
        {
            _killRing[^1] = before ? text + _killRing[^1] : _killRing[^1] + text;
        }
        else
        {
            _killRing.Add(text);
            if (_killRing.Count > KillRingCapacity)
            {
                _killRing.RemoveAt(0);
            }
        }

        _lastWasKill = true;
    }

    /// <summary>Ctrl+Y: the newest cut, typed at the cursor; null when nothing was cut.</summary>
    public (string Text, int Cursor)? Yank(string text, int cursor)
    {
        _lastWasKill = false;
        _cycle = null;
        return _killRing.Count == 0 ? null : Insert(text, cursor, _killRing[^1]);
    }

    /// <summary>Tab: the first press completes as far as the candidates agree and names them (<see cref="Complete"/>);
    /// each press after it, with no other key between, puts the next candidate in the word's place, round.</summary>
    public (string Text, int Cursor, IReadOnlyList<string> Listed) Tab(string text, int cursor, IEnumerable<string> names)
    {
        _lastWasKill = false;
        if (_cycle is { } cycle)
        {
            var index = (cycle.Index + 1) % cycle.Candidates.Count;
            _cycle = cycle with { Index = index };
            var word = cycle.Candidates[index];
            return (cycle.Before + word + cycle.After, Elements(cycle.Before + word).Count, []);
        }

        var (completed, at, candidates) = Complete(text, cursor, names);
        if (candidates.Count > 1)
        {
            // The word completed so far starts where the word began: the cycle replaces it whole.
            var e = Elements(completed);
            var start = at;
            while (start > 0 && !string.IsNullOrWhiteSpace(e[start - 1]))
            {
                start--;
            }

            var suffix = start == 0 && !candidates[0].StartsWith('/') ? ": " : " ";
            _cycle = (candidates.Select(c => c + suffix).ToList(), -1, string.Concat(e.Take(start)), string.Concat(e.Skip(at)));
        }

        return (completed, at, candidates);
    }

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

    /// <summary>How a line break stands in the input line (which is one row): a paste of several lines keeps its
    /// breaks as this sign, and the message sent has them back as line breaks.</summary>
    public const char LineBreak = '\u21B5';

    /// <summary>A paste, inserted at the cursor as one unit: CR LF and CR become line breaks (shown as
    /// <see cref="LineBreak"/>), tabs four spaces, other control characters are dropped. Null when the line would
    /// hold more than <paramref name="maxBytes"/> bytes of UTF-8 (nothing is inserted then).</summary>
    public static (string Text, int Cursor)? Paste(string text, int cursor, string pasted, int maxBytes)
    {
        var clean = new StringBuilder(pasted.Length);
        for (var i = 0; i < pasted.Length; i++)
        {
            var c = pasted[i];
            if (c == '\r' && i + 1 < pasted.Length && pasted[i + 1] == '\n')
            {
                continue;
            }

            if (c is '\r' or '\n')
            {
                clean.Append(LineBreak);
            }
            else if (c == '\t')
            {
                clean.Append("    ");
            }
            else if (!char.IsControl(c))
            {
                clean.Append(c);
            }
        }

        // A paste ending in a line break (a copied line usually does) does not end the message with an empty line.
        while (clean.Length > 0 && clean[^1] == LineBreak)
        {
            clean.Length--;
        }

        var e = Elements(text);
        cursor = Math.Clamp(cursor, 0, e.Count);
        var before = string.Concat(e.Take(cursor));
        var inserted = clean.ToString();
        var result = before + inserted + string.Concat(e.Skip(cursor));
        if (MessageBytes(result) > maxBytes)
        {
            return null;
        }

        return (result, cursor + Elements(inserted).Count);
    }

    /// <summary>What the input line sends: its <see cref="LineBreak"/> signs as line breaks. A text of several lines is
    /// a message, even when it starts with '/' (it is sent with the leading '/' kept).</summary>
    public static string ToLine(string field)
    {
        if (field.IndexOf(LineBreak) < 0)
        {
            return field;
        }

        var text = field.Replace(LineBreak, '\n');
        return text.StartsWith('/') ? "/" + text : text;
    }

    /// <summary>The bytes of UTF-8 the input line's text takes as a message.</summary>
    public static int MessageBytes(string field) => Encoding.UTF8.GetByteCount(field) - (Encoding.UTF8.GetByteCount(LineBreak.ToString()) - 1) * Count(field, LineBreak);

    /// <summary>The lines of the input line's text.</summary>
    public static int Lines(string field) => Count(field, LineBreak) + 1;

    private static int Count(string text, char c)
    {
        var n = 0;
        foreach (var x in text)
        {
            if (x == c)
            {
                n++;
            }
        }

        return n;
    }

    /// <summary>Types <paramref name="typed"/> at the cursor.</summary>
    public static (string Text, int Cursor) Insert(string text, int cursor, string typed)
    {
        var e = Elements(text);
        cursor = Math.Clamp(cursor, 0, e.Count);
        return (string.Concat(e.Take(cursor)) + typed + string.Concat(e.Skip(cursor)), cursor + Elements(typed).Count);
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
