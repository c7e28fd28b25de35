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
        var total = CurrentRows().Count;
        _scrollBack = Math.Clamp(_scrollBack + rows, 0, Math.Max(0, total - Viewport.Height));
        SetNeedsDraw();
    }

    private List<MessageLayout.Row> CurrentRows() =>
        _model.Current is { } group ? MessageLayout.Rows(group.Lines, Viewport.Width, Zone) : [];

    protected override bool OnDrawingContent(DrawContext? context)
    {
        var rows = CurrentRows();
        var height = Viewport.Height;
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
