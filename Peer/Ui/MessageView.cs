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

    /// <summary>Rows scrolled back from the newest; 0 follows new messages as they come.</summary>
    public int ScrollBack => _scrollBack;

    /// <summary>The zone dates and times are shown in (the machine's, unless a test sets one).</summary>
    public TimeZoneInfo Zone { get; set; } = TimeZoneInfo.Local;

    public void PageUp() => Scroll(Math.Max(1, Viewport.Height - 1));

    public void PageDown() => Scroll(-Math.Max(1, Viewport.Height - 1));

    public void ToNewest()
    {
        _scrollBack = 0;
        SetNeedsDraw();
    }

    private void Scroll(int rows)
    {
        var wanted = Math.Max(0, _scrollBack + rows);
        // Lay out only as far back as the scroll reaches: the clamp needs to know whether that many rows exist.
        var available = TailRows(wanted + Viewport.Height).Count;
        _scrollBack = Math.Clamp(wanted, 0, Math.Max(0, available - Viewport.Height));
        SetNeedsDraw();
    }

    private List<MessageLayout.Row> TailRows(int count) =>
        _model.Current is { } group ? MessageLayout.Tail(group.Lines, Viewport.Width, Zone, count) : [];

    protected override bool OnDrawingContent(DrawContext? context)
    {
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
