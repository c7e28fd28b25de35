using Terminal.Gui.Drawing;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Attribute = Terminal.Gui.Drawing.Attribute;

namespace Mesh.Peer.Ui;

/// <summary>The messages of the group shown now, newest at the bottom, scrolled by whole pages.</summary>
public sealed class MessageView : View
{
    private readonly ChatModel _model;
    private int _scrollBack;

    public MessageView(ChatModel model)
    {
        _model = model;
        CanFocus = false;
    }

    private object? _seenGroup;
    private int _seenLines;

    /// <summary>Rows scrolled back from the newest; 0 follows new messages as they come.</summary>
    public int ScrollBack => _scrollBack;

    /// <summary>Lines that came while scrolled back (the view stays where it was; the last row says how many).</summary>
    public int NewBelow { get; private set; }

    /// <summary>The zone dates and times are shown in (the machine's, unless a test sets one).</summary>
    public TimeZoneInfo Zone { get; set; } = TimeZoneInfo.Local;

    public void PageUp() => Scroll(Math.Max(1, Viewport.Height - 1));

    public void PageDown() => Scroll(-Math.Max(1, Viewport.Height - 1));

    public void ToNewest()
    {
        _scrollBack = 0;
        NewBelow = 0;
        SetNeedsDraw();
    }

    /// <summary>The line drawn highlighted (a search's match), or -1.</summary>
    public int Highlighted { get; set; } = -1;

    /// <summary>Scrolls so that line <paramref name="index"/> of the group shown is the last one on screen.</summary>
    public void Reveal(int index)
    {
        HoldStill();
        if (_model.Shown is not { } group || index < 0 || index >= group.Lines.Count)
        {
            return;
        }

        _scrollBack = MessageLayout.RowsFrom(group.Lines, index + 1, Viewport.Width, Zone, Marker);
        NewBelow = 0;
        SetNeedsDraw();
    }

    /// <summary>The mouse wheel scrolls three rows at a time.</summary>
    protected override bool OnMouseEvent(Mouse mouse)
    {
        if (mouse.Flags.HasFlag(MouseFlags.WheeledUp))
        {
            Scroll(3);
            return true;
        }

        if (mouse.Flags.HasFlag(MouseFlags.WheeledDown))
        {
            Scroll(-3);
            return true;
        }

        return base.OnMouseEvent(mouse);
    }

    /// <summary>While scrolled back, what came since the last look is added to the scroll, so the rows read stay put.</summary>
    private void HoldStill()
    {
        var group = _model.Shown;
        if (!ReferenceEquals(group, _seenGroup))
        {
            _seenGroup = group;
            _seenLines = group?.Lines.Count ?? 0;
            NewBelow = 0;
            return;
        }

        var count = group?.Lines.Count ?? 0;
        if (_scrollBack > 0 && count > _seenLines)
        {
            _scrollBack += MessageLayout.RowsFrom(group!.Lines, _seenLines, Viewport.Width, Zone, Marker);
            NewBelow += count - _seenLines;
        }
        else if (_scrollBack == 0)
        {
            NewBelow = 0;
        }

        _seenLines = count;
    }

    private void Scroll(int rows)
    {
        HoldStill();
        var wanted = Math.Max(0, _scrollBack + rows);
        // Lay out only as far back as the scroll reaches: the clamp needs to know whether that many rows exist.
        var available = TailRows(wanted + Viewport.Height).Count;
        _scrollBack = Math.Clamp(wanted, 0, Math.Max(0, available - Viewport.Height));
        if (_scrollBack == 0)
        {
            NewBelow = 0;
        }

        SetNeedsDraw();
    }

    private List<MessageLayout.Row> TailRows(int count) =>
        MessageLayout.Tail(_model.Shown.Lines, Viewport.Width, Zone, count, Marker);

    /// <summary>Name colours of middle lightness, readable on a dark and on a light background alike: hues a tenth of
    /// the circle apart in three lightness and saturation steps (see <see cref="NickPalette"/>).</summary>
    private static readonly Color[] Palette = NickPalette.Colours.Select(c => new Color(c.R, c.G, c.B)).ToArray();

    private Attribute AttributeOf(MessageLayout.Style style, int colour, Attribute normal) => style switch
    {
        MessageLayout.Style.Nick => new Attribute(Palette[colour % Palette.Length], normal.Background, TextStyle.Bold),
        MessageLayout.Style.OwnNick or MessageLayout.Style.Mark => new Attribute(normal.Foreground, normal.Background, TextStyle.Bold),
        MessageLayout.Style.Mention => new Attribute(normal.Foreground, normal.Background, TextStyle.Bold | TextStyle.Reverse),
        MessageLayout.Style.Info => new Attribute(Palette[NickPalette.InfoColour], normal.Background),
        MessageLayout.Style.Error => new Attribute(new Color(0xD7, 0x00, 0x00), normal.Background, TextStyle.Bold),
        MessageLayout.Style.Rule => new Attribute(normal.Foreground, normal.Background, TextStyle.Bold),
        _ => normal,
    };

    /// <summary>The line the read marker goes above in the group shown (-1 for none).</summary>
    private int Marker => _model.Shown.MarkerIndex;

    protected override bool OnDrawingContent(DrawContext? context)
    {
        HoldStill();
        var height = Viewport.Height;
        var rows = TailRows(height + _scrollBack);
        var start = Math.Max(0, rows.Count - height - _scrollBack);
        var normal = GetAttributeForRole(VisualRole.Normal);
        for (var y = 0; y < height; y++)
        {
            Move(0, y);
            var index = start + y;
            if (index >= rows.Count)
            {
                SetAttribute(normal);
                AddStr(new string(' ', Viewport.Width));
                continue;
            }

            var row = y == height - 1 && NewBelow > 0 && _scrollBack > 0
                // The last row says what came meanwhile, in place of the row it covers.
                ? MessageLayout.RuleRow($" {NewBelow} new below: End shows them ", Viewport.Width)
                : rows[index];
            var lit = row.Line >= 0 && row.Line == Highlighted;
            foreach (var span in row.Spans)
            {
                var attribute = AttributeOf(span.Style, span.Colour, normal);
                SetAttribute(lit ? attribute with { Style = attribute.Style | TextStyle.Reverse } : attribute);
                if (span.Url is { } url && App?.Driver is { } driver)
                {
                    // A URL is a hyperlink (OSC 8) on every row it takes: a click opens all of it.
                    driver.CurrentUrl = url;
                    AddStr(span.Text);
                    driver.CurrentUrl = null;
                }
                else
                {
                    AddStr(span.Text);
                }
            }

            SetAttribute(normal);
            var pad = Viewport.Width - Terminal.Gui.Text.StringExtensions.GetColumns(row.Text);
            if (pad > 0)
            {
                AddStr(new string(' ', pad));
            }
        }

        return true;
    }
}
