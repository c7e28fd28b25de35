using Terminal.Gui.Drawing;
using Terminal.Gui.ViewBase;

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

    /// <summary>While scrolled back, what came since the last look is added to the scroll, so the rows read stay put.</summary>
    private void HoldStill()
    {
        var group = _model.Current;
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
            _scrollBack += MessageLayout.RowsFrom(group!.Lines, _seenLines, Viewport.Width, Zone);
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
        _model.Current is { } group ? MessageLayout.Tail(group.Lines, Viewport.Width, Zone, count) : [];

    protected override bool OnDrawingContent(DrawContext? context)
    {
        HoldStill();
        var height = Viewport.Height;
        var rows = TailRows(height + _scrollBack);
        var start = Math.Max(0, rows.Count - height - _scrollBack);
        var normal = GetAttributeForRole(VisualRole.Normal);
        var own = GetAttributeForRole(VisualRole.Highlight);
        var system = GetAttributeForRole(VisualRole.Disabled);
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

            if (y == height - 1 && NewBelow > 0 && _scrollBack > 0)
            {
                // The last row says what came meanwhile, in place of the row it covers.
                var label = $" {NewBelow} new below: End shows them ";
                var side = Math.Max(0, (Viewport.Width - label.Length) / 2);
                SetAttribute(GetAttributeForRole(VisualRole.Highlight));
                AddStr((new string('─', side) + label + new string('─', Math.Max(0, Viewport.Width - side - label.Length)))[..Math.Max(0, Viewport.Width)]);
                SetAttribute(normal);
                continue;
            }

            var row = rows[index];
            SetAttribute(row.Kind switch
            {
                ChatLineKind.Own => own,
                ChatLineKind.System => system,
                _ => normal,
            });
            AddStr(row.Text);
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
