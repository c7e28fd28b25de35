using System.Globalization;
using System.Text;
using Terminal.Gui.Text;

namespace Mesh.Peer.Ui;

/// <summary>Turns a group's lines into rows of a given width: a date row where the day changes, then each message
/// as <c>HH:mm name: text</c>, wrapped with continuation rows indented under the text.</summary>
/// <remarks>Widths are display columns (CJK and most emoji take two), counted per text element so that combining
/// marks stay with their base character.</remarks>
public static class MessageLayout
{
    public sealed record Row(string Text, ChatLineKind Kind);

    public static List<Row> Rows(IReadOnlyList<ChatLine> lines, int width, TimeZoneInfo zone) =>
        Tail(lines, width, zone, int.MaxValue);

    /// <summary>The last <paramref name="count"/> rows (or all, if fewer), laid out from the newest line backwards:
    /// a view of a long history costs what it shows, not the whole history.</summary>
    public static List<Row> Tail(IReadOnlyList<ChatLine> lines, int width, TimeZoneInfo zone, int count)
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
            var block = Block(lines, i, width, zone);
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
    public static int RowsFrom(IReadOnlyList<ChatLine> lines, int from, int width, TimeZoneInfo zone)
    {
        if (width < 8)
        {
            return 0;
        }

        var rows = 0;
        for (var i = Math.Max(0, from); i < lines.Count; i++)
        {
            rows += Block(lines, i, width, zone).Count;
        }

        return rows;
    }

    /// <summary>The rows of line <paramref name="i"/>: a date row first where the day changes, then its wrapped text.</summary>
    private static List<Row> Block(IReadOnlyList<ChatLine> lines, int i, int width, TimeZoneInfo zone)
    {
        var block = new List<Row>();
        var local = TimeZoneInfo.ConvertTime(lines[i].At, zone);
        var date = DateOnly.FromDateTime(local.DateTime);
        var previous = i > 0 ? DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(lines[i - 1].At, zone).DateTime) : (DateOnly?)null;
        if (previous != date)
        {
            var label = $" {local.ToString("ddd d MMM yyyy", CultureInfo.InvariantCulture)} ";
            var side = Math.Max(0, (width - label.Length) / 2);
            block.Add(new Row(new string('─', side) + label + new string('─', Math.Max(0, width - side - label.Length)), ChatLineKind.System));
        }

        Line(lines[i], local, width, block);
        return block;
    }

    private static void Line(ChatLine line, DateTimeOffset local, int width, List<Row> rows)
    {
        {
            var time = local.ToString("HH:mm", CultureInfo.InvariantCulture);
            var head = line.Kind switch
            {
                ChatLineKind.Own => $"{time} » {line.From}: ",
                ChatLineKind.Message => $"{time} {line.From}: ",
                _ => $"{time} -- ",
            };
            Wrap(head, line.Text, width, line.Kind, rows);
        }
    }

    private static void Wrap(string head, string text, int width, ChatLineKind kind, List<Row> rows)
    {
        const int Indent = 6;
        var first = true;
        foreach (var paragraph in text.Replace("\r", "").Split('\n'))
        {
            var row = new StringBuilder(first ? head : new string(' ', Indent));
            var used = row.ToString().GetColumns();
            var lastSpace = -1;
            var elements = StringInfo.GetTextElementEnumerator(paragraph);
            while (elements.MoveNext())
            {
                var element = Printable(elements.GetTextElement());
                var columns = Math.Max(element.GetColumns(), 0);
                if (used + columns > width)
                {
                    // Break at the last space of this row when there is one, else right here.
                    string carry = "";
                    if (lastSpace > Indent)
                    {
                        carry = row.ToString(lastSpace + 1, row.Length - lastSpace - 1);
                        row.Length = lastSpace;
                    }

                    rows.Add(new Row(row.ToString(), kind));
                    row.Clear().Append(' ', Indent).Append(carry);
                    used = row.ToString().GetColumns();
                    lastSpace = -1;
                }

                if (element == " ")
                {
                    lastSpace = row.Length;
                }

                row.Append(element);
                used += columns;
            }

            rows.Add(new Row(row.ToString(), kind));
            first = false;
        }
    }

    /// <summary>Control characters would move the terminal's cursor: show them as a visible placeholder.</summary>
    private static string Printable(string element) =>
        element.Length == 1 && char.IsControl(element[0]) ? (element[0] == '\t' ? "    " : "\uFFFD") : element;
}
