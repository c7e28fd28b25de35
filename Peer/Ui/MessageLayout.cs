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

    public static List<Row> Rows(IReadOnlyList<ChatLine> lines, int width, TimeZoneInfo zone)
    {
        var rows = new List<Row>();
        if (width < 8)
        {
            return rows;
        }

        DateOnly? day = null;
        foreach (var line in lines)
        {
            var local = TimeZoneInfo.ConvertTime(line.At, zone);
            var date = DateOnly.FromDateTime(local.DateTime);
            if (day != date)
            {
                day = date;
                var label = $" {local.ToString("ddd d MMM yyyy", CultureInfo.InvariantCulture)} ";
                var side = Math.Max(0, (width - label.Length) / 2);
                rows.Add(new Row(new string('─', side) + label + new string('─', Math.Max(0, width - side - label.Length)), ChatLineKind.System));
            }

            var time = local.ToString("HH:mm", CultureInfo.InvariantCulture);
            var head = line.Kind switch
            {
                ChatLineKind.Own => $"{time} » {line.From}: ",
                ChatLineKind.Message => $"{time} {line.From}: ",
                _ => $"{time} -- ",
            };
            Wrap(head, line.Text, width, line.Kind, rows);
        }

        return rows;
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
