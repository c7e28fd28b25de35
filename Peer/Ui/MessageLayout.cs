using System.Globalization;
using System.Text;
using Terminal.Gui.Text;

namespace Mesh.Peer.Ui;

/// <summary>Turns a group's lines into rows of a given width: a date row where the day changes, then each message
/// as <c>HH:mm name: text</c>, wrapped with continuation rows indented under the text. Each row is made of styled
/// spans (time, nick in its colour, a mention of me, Mesh's information or errors) that the view colours.</summary>
/// <remarks>Widths are display columns (CJK and most emoji take two), counted per text element so that combining
/// marks, ZWJ sequences and flags stay whole.</remarks>
public static partial class MessageLayout
{
    public enum Style
    {
        Plain,
        Time,

        /// <summary>The <c>»</c> of my own messages.</summary>
        Mark,

        /// <summary>A sender's name, in the colour <see cref="Span.Colour"/> picks.</summary>
        Nick,
        OwnNick,

        /// <summary>My name in someone's message.</summary>
        Mention,

        /// <summary>What Mesh says that is not a failure.</summary>
        Info,
        Error,

        /// <summary>A date row, the read marker.</summary>
        Rule,
    }

    /// <param name="Url">The link a URL's text stands for (the whole URL, on each row a long one takes): drawn as an
    /// OSC 8 hyperlink where the terminal supports them.</param>
    public sealed record Span(string Text, Style Style, int Colour = 0, string? Url = null);

    public sealed record Row(string Text, ChatLineKind Kind, IReadOnlyList<Span> Spans)
    {
        /// <summary>The index of the line this row shows (-1 for a date row or the read marker).</summary>
        public int Line { get; init; } = -1;

        public bool Equals(Row? other) =>
            other is not null && Text == other.Text && Kind == other.Kind && Line == other.Line && Spans.SequenceEqual(other.Spans);

        public override int GetHashCode() => HashCode.Combine(Text, Kind, Spans.Count);
    }

    /// <summary>The text of the read marker row, shown above the first line that came while the group was not looked at.</summary>
    public const string MarkerLabel = " new since you last looked ";

    /// <summary>Colours a name can get (<see cref="NickColour"/>): enough that a few people rarely share one.</summary>
    public const int NickColours = 36;

    /// <summary>A colour for a name that is the same on every screen and every run (FNV-1a of its UTF-8).</summary>
    public static int NickColour(string name)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(name))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return (int)(hash % NickColours);
    }

    public static List<Row> Rows(IReadOnlyList<ChatLine> lines, int width, TimeZoneInfo zone, int marker = -1) =>
        Tail(lines, width, zone, int.MaxValue, marker);

    /// <summary>The last <paramref name="count"/> rows (or all, if fewer), laid out from the newest line backwards:
    /// a view of a long history costs what it shows, not the whole history. <paramref name="marker"/> is the index of
    /// the line the read marker goes above (-1 for none).</summary>
    public static List<Row> Tail(IReadOnlyList<ChatLine> lines, int width, TimeZoneInfo zone, int count, int marker = -1)
    {
        var rows = new List<Row>();
        if (width < 8)
        {
            return rows;
        }

        var blocks = new List<List<Row>>();
        var total = 0;
        for (var i = lines.Count - 1; i >= 0 && total < count; i--)
        {
            var block = Block(lines, i, width, zone, marker);
            blocks.Add(block);
            total += block.Count;
        }

        for (var b = blocks.Count - 1; b >= 0; b--)
        {
            rows.AddRange(blocks[b]);
        }

        return rows.Count > count ? rows[^count..] : rows;
    }

    /// <summary>How many rows the lines from <paramref name="from"/> on take (their date rows included).</summary>
    public static int RowsFrom(IReadOnlyList<ChatLine> lines, int from, int width, TimeZoneInfo zone, int marker = -1)
    {
        if (width < 8)
        {
            return 0;
        }

        var rows = 0;
        for (var i = Math.Max(0, from); i < lines.Count; i++)
        {
            rows += Block(lines, i, width, zone, marker).Count;
        }

        return rows;
    }

    /// <summary>The rows of line <paramref name="i"/>: a date row first where the day changes, the read marker where
    /// it is, then its wrapped text.</summary>
    private static List<Row> Block(IReadOnlyList<ChatLine> lines, int i, int width, TimeZoneInfo zone, int marker)
    {
        var block = new List<Row>();
        var local = TimeZoneInfo.ConvertTime(lines[i].At, zone);
        var date = DateOnly.FromDateTime(local.DateTime);
        var previous = i > 0 ? DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(lines[i - 1].At, zone).DateTime) : (DateOnly?)null;
        if (previous != date)
        {
            block.Add(RuleRow($" {local.ToString("ddd d MMM yyyy", CultureInfo.InvariantCulture)} ", width));
        }

        if (i == marker)
        {
            block.Add(RuleRow(MarkerLabel, width));
        }

        var rules = block.Count;
        Line(lines[i], local, width, block);
        for (var r = rules; r < block.Count; r++)
        {
            block[r] = block[r] with { Line = i };
        }

        return block;
    }

    /// <summary>A label centred in a rule across the width.</summary>
    public static Row RuleRow(string label, int width)
    {
        var side = Math.Max(0, (width - label.Length) / 2);
        var text = new string('─', side) + label + new string('─', Math.Max(0, width - side - label.Length));
        text = text[..Math.Min(text.Length, Math.Max(0, width))];
        return new Row(text, ChatLineKind.System, [new Span(text, Style.Rule)]);
    }

    private static void Line(ChatLine line, DateTimeOffset local, int width, List<Row> rows)
    {
        var time = local.ToString("HH:mm", CultureInfo.InvariantCulture);
        var from = line.From ?? "";
        var nick = line.Kind == ChatLineKind.Own ? Style.OwnNick : Style.Nick;
        var colour = NickColour(from);
        var text = line.Shown;
        var offset = 0;
        List<Span> head;
        if (line.Kind != ChatLineKind.System && text.StartsWith(ChatLine.ActionPrefix, StringComparison.Ordinal))
        {
            // /me waves: "* amy waves", the name in its colour.
            head = [new(time, Style.Time), new(line.Kind == ChatLineKind.Own ? " » * " : " * ", line.Kind == ChatLineKind.Own ? Style.Mark : Style.Plain),
                new(from, nick, colour), new(" ", Style.Plain)];
            offset = ChatLine.ActionPrefix.Length;
        }
        else
        {
            head = line.Kind switch
            {
                ChatLineKind.Own => [new(time, Style.Time), new(" » ", Style.Mark), new(from, nick, colour), new(": ", Style.Plain)],
                ChatLineKind.Message => [new(time, Style.Time), new(" ", Style.Plain), new(from, nick, colour), new(": ", Style.Plain)],
                _ => [new(time, Style.Time), new(" -- ", Style.Plain)],
            };
        }

        var body = line.Kind != ChatLineKind.System ? Style.Plain : text.StartsWith("! ", StringComparison.Ordinal) ? Style.Error : Style.Info;
        if (line.Quote is { } quote)
        {
            // A reply: what it answers, one line above it.
            rows.Add(Clip([new(new string(' ', 6), Style.Plain), new("↪ " + quote, Style.Info)], width, line.Kind));
        }

        if (line.DeletedBy is { } by)
        {
            text = $"message deleted by {by}";
            body = Style.Info;
            offset = 0;
        }
        else if (line.Edited)
        {
            text += " (edited)";
        }

        if (line.Repeats > 1)
        {
            text += string.Create(CultureInfo.InvariantCulture, $" (×{line.Repeats})");
        }

        Wrap(head, text, offset, line.Changes.Mentions ?? line.Mentions, body, width, line.Kind, rows);
        if (line.Reactions.Count > 0 && line.DeletedBy is null)
        {
            // Under the message: each reaction, how many gave it and who.
            var said = string.Join("   ", line.Reactions.Select(r => $"{r.Emoji} {r.From.Count} {string.Join(", ", r.From)}"));
            Wrap([new(new string(' ', 6), Style.Plain)], said, 0, [], Style.Info, width, line.Kind, rows);
        }
    }

    /// <summary>One row of <paramref name="spans"/>, cut at the width.</summary>
    private static Row Clip(List<Span> spans, int width, ChatLineKind kind)
    {
        var cells = new List<Cell>();
        var used = 0;
        foreach (var span in spans)
        {
            var elements = StringInfo.GetTextElementEnumerator(span.Text);
            while (elements.MoveNext())
            {
                var element = TerminalGlyphs.Displayable(elements.GetTextElement());
                var columns = Math.Max(element.GetColumns(), 0);
                if (used + columns > width)
                {
                    return Flush(cells, kind);
                }

                cells.Add(new Cell(element, span.Style, span.Colour, columns));
                used += columns;
            }
        }

        return Flush(cells, kind);
    }

    private readonly record struct Cell(string Element, Style Style, int Colour, int Columns, string? Url = null);

    /// <summary>A URL in a message: from its scheme to the first space, without the punctuation that ends a sentence.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"\b(?:https?|ftp)://[^\s<>""]+", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex UrlPattern();

    /// <summary>The URLs of <paramref name="text"/>: where each starts, how long it is, and the link.</summary>
    public static List<(int Start, int Length, string Url)> Urls(string text)
    {
        var urls = new List<(int, int, string)>();
        foreach (System.Text.RegularExpressions.Match match in UrlPattern().Matches(text))
        {
            // Punctuation that ends the sentence is not the link's; a closing bracket is when the link opened one.
            var url = match.Value.TrimEnd('.', ',', ';', ':', '!', '?', '\'', ']', '}');
            while (url.EndsWith(')') && url.Count(c => c == '(') < url.Count(c => c == ')'))
            {
                url = url[..^1].TrimEnd('.', ',', ';', ':', '!', '?', '\'');
            }

            urls.Add((match.Index, url.Length, url));
        }

        return urls;
    }

    private static void Wrap(List<Span> head, string text, int offset, IReadOnlyList<(int Start, int Length)> mentions, Style body,
        int width, ChatLineKind kind, List<Row> rows)
    {
        var row = new List<Cell>();
        foreach (var span in head)
        {
            row.Add(new Cell(span.Text, span.Style, span.Colour, span.Text.GetColumns()));
        }

        // Continuation rows start under the text of the first (pasted code keeps its indentation), unless the head
        // takes so much of a narrow view that the text would get too little room.
        var headColumns = row.Sum(c => c.Columns);
        var hang = headColumns <= width / 3 ? headColumns : Math.Min(6, headColumns);
        var indent = new Cell(new string(' ', hang), Style.Plain, 0, hang);
        var urls = body == Style.Plain ? Urls(text) : [];
        var used = row.Sum(c => c.Columns);
        var at = offset;
        var first = true;
        while (first || at <= text.Length)
        {
            var end = text.IndexOf('\n', at);
            var paragraph = text[at..(end < 0 ? text.Length : end)];
            if (!first)
            {
                rows.Add(Flush(row, kind));
                row.Add(indent);
                used = hang;
            }

            var lastSpace = -1;
            var elements = StringInfo.GetTextElementEnumerator(paragraph);
            while (elements.MoveNext())
            {
                var raw = elements.GetTextElement();
                if (raw == "\r")
                {
                    continue;
                }

                var element = TerminalGlyphs.Displayable(raw);
                if (element.Length == 0)
                {
                    continue;
                }

                var position = at + elements.ElementIndex;
                var style = body == Style.Plain && mentions.Any(m => position >= m.Start && position < m.Start + m.Length) ? Style.Mention : body;
                var columns = Math.Max(element.GetColumns(), 0);
                string? link = null;
                foreach (var (start, length, url) in urls)
                {
                    if (position >= start && position < start + length)
                    {
                        link = url;
                        if (position == start && used > hang && used + url.GetColumns() > width && hang + url.GetColumns() <= width)
                        {
                            // A URL that fits on a row of its own starts one rather than being cut by the wrap.
                            rows.Add(Flush(row, kind));
                            row.Add(indent);
                            used = hang;
                            lastSpace = -1;
                        }

                        break;
                    }
                }

                if (used + columns > width && used > 0)
                {
                    // Break at the last space of this row when there is one past the indent, else right here.
                    var carry = new List<Cell>();
                    if (lastSpace > 0)
                    {
                        carry = row.GetRange(lastSpace + 1, row.Count - lastSpace - 1);
                        row.RemoveRange(lastSpace, row.Count - lastSpace);
                    }

                    rows.Add(Flush(row, kind));
                    row.Add(indent);
                    row.AddRange(carry);
                    used = row.Sum(c => c.Columns);
                    lastSpace = -1;
                }

                if (element == " " && used >= hang)
                {
                    lastSpace = row.Count;
                }

                row.Add(new Cell(element, style, 0, columns, link));
                used += columns;
            }

            first = false;
            if (end < 0)
            {
                break;
            }

            at = end + 1;
        }

        rows.Add(Flush(row, kind));
    }

    /// <summary>The row made of <paramref name="cells"/> (consecutive cells of one style merged), which are cleared.</summary>
    private static Row Flush(List<Cell> cells, ChatLineKind kind)
    {
        var spans = new List<Span>();
        var text = new StringBuilder();
        var run = new StringBuilder();
        for (var i = 0; i < cells.Count; i++)
        {
            run.Append(cells[i].Element);
            text.Append(cells[i].Element);
            if (i + 1 == cells.Count || cells[i + 1].Style != cells[i].Style || cells[i + 1].Colour != cells[i].Colour || cells[i + 1].Url != cells[i].Url)
            {
                spans.Add(new Span(run.ToString(), cells[i].Style, cells[i].Colour, cells[i].Url));
                run.Clear();
            }
        }

        cells.Clear();
        return new Row(text.ToString(), kind, spans);
    }
}
