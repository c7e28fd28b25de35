using System.Collections.ObjectModel;
using System.Globalization;
using System.Text;
using Mesh.Peer.Configuration;
using Mesh.Peer.Session;
using Terminal.Gui.App;
using Terminal.Gui.Drawing;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace Mesh.Peer.Ui;

/// <summary>The chat screen: groups on the left, messages in the middle, members on the right, the input line and
/// the status bar at the bottom.</summary>
public sealed class ChatWindow : Window
{
    /// <summary>What <c>/help</c> shows: every key and command (see <see cref="HelpTable"/>).</summary>
    public static string Help => HelpTable.Text();

    private const int SideWidth = 20;

    /// <summary>Below this width the side panels fold away (F2 shows them): the messages need the room more.</summary>
    public const int NarrowWidth = 100;

    /// <summary>Below this width F2 shows the panels in place of the messages: beside them, they would leave the
    /// messages too few columns.</summary>
    public const int PanelsBesideWidth = 2 * SideWidth + 40;

    private bool _panelsShown;
    private bool _plain;
    private (bool Panels, bool Beside, bool Plain)? _laidOut;

    /// <summary>The borders as Terminal.Gui drew them first (the plain view takes them away and gives them back).</summary>
    private readonly (LineStyle? Window, LineStyle? Frame) _borders;
    private static readonly Key[] Digits = [Key.D1, Key.D2, Key.D3, Key.D4, Key.D5, Key.D6, Key.D7, Key.D8, Key.D9];
    private readonly ChatModel _model;
    private readonly Action<string, string?> _send;
    private readonly Action _quit;
    private readonly Func<DateTimeOffset> _now;
    private readonly ListView _groups = new() { X = 0, Y = 0, Width = Dim.Fill(), Height = Dim.Fill(), CanFocus = false };
    private readonly ListView _members = new() { X = 0, Y = 0, Width = Dim.Fill(), Height = Dim.Fill(), CanFocus = false };
    private readonly FrameView _groupFrame;
    private readonly FrameView _messageFrame;
    private readonly FrameView _memberFrame;
    private readonly TextField _input;
    private readonly Label _status;
    private readonly ObservableCollection<string> _groupItems = [];
    private readonly ObservableCollection<string> _memberItems = [];
    private readonly InputLine _line = new();
    private readonly PasteBurst _burst = new(Naming.MaxTextBytes + 1);
    private readonly Func<TimeSpan> _keyClock;
    private bool _flushScheduled;

    /// <summary>While Ctrl+R searches: what was typed before (given back after), and the line matched.</summary>
    private (string Draft, int At)? _search;

    /// <param name="model">What to show.</param>
    /// <param name="send">Where lines for the session go: messages and the commands the session understands, each with
    /// the group shown when it was typed (null when none is).</param>
    /// <param name="quit">Leaves every group and ends the program.</param>
    /// <param name="now">The clock for lines Mesh adds itself.</param>
    /// <param name="keyClock">A monotonic clock read as each key comes, to tell a paste from typing (a stopwatch
    /// unless given).</param>
    public ChatWindow(ChatModel model, Action<string, string?> send, Action quit, Func<DateTimeOffset> now, Func<TimeSpan>? keyClock = null)
    {
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        _keyClock = keyClock ?? (() => stopwatch.Elapsed);
        _model = model;
        _send = send;
        _quit = quit;
        _now = now;
        Title = "mesh";
        _groupFrame = new FrameView { Title = "Groups", X = 0, Y = 0, Width = SideWidth, Height = Dim.Fill(2) };
        _groupFrame.Add(_groups);
        _memberFrame = new FrameView { Title = "Members", X = Pos.AnchorEnd(SideWidth), Y = 0, Width = SideWidth, Height = Dim.Fill(2) };
        _memberFrame.Add(_members);
        Messages = new MessageView(model) { X = 0, Y = 0, Width = Dim.Fill(), Height = Dim.Fill() };
        _messageFrame = new FrameView { X = SideWidth, Y = 0, Width = Dim.Fill(SideWidth), Height = Dim.Fill(2) };
        _messageFrame.Add(Messages);
        _input = new TextField { X = 0, Y = Pos.AnchorEnd(2), Width = Dim.Fill(), Height = 1 };
        _status = new Label { X = 0, Y = Pos.AnchorEnd(1), Width = Dim.Fill(), Height = 1 };
        _groups.SetSource(_groupItems);
        _members.SetSource(_memberItems);
        _input.Accepting += (_, e) =>
        {
            e.Handled = true;
            if (_search is not null)
            {
                EndSearch(stay: true);
                return;
            }

            SendInput();
        };
        _input.TextChanged += (_, _) =>
        {
            if (_search is { } search)
            {
                // Each letter typed searches again from the newest.
                SearchOlder(Lines().Count, search.Draft);
            }

            _status.Text = StatusText();
        };
        _groups.MouseEvent += (_, mouse) =>
        {
            // A click on a group shows it; the input keeps the focus.
            if (mouse.IsSingleClicked && mouse.Position is { } at)
            {
                mouse.Handled = true;
                Switched(_model.SwitchTo(at.Y + _groups.Viewport.Y));
                _input.SetFocus();
            }
        };
        Add(_groupFrame, _messageFrame, _memberFrame, _input, _status);
        _borders = (BorderStyle, _messageFrame.BorderStyle);
        _input.SetFocus();
        Refresh();
    }

    public MessageView Messages { get; }

    /// <summary>How many times the bell was rung (a message named me).</summary>
    public int Rang { get; private set; }

    public TextField Input => _input;

    /// <summary>Routes the application's keys through <see cref="HandleKey"/> before any view sees them.</summary>
    public void Attach(IApplication app)
    {
        app.Keyboard.KeyDown += (_, key) =>
        {
            if (PastedKey(app, key) || HandleKey(key))
            {
                key.Handled = true;
            }
        };
        app.Paste += (_, e) =>
        {
            // A bracketed paste is one unit: the text field alone would keep its first line.
            e.Handled = true;
            Paste(e.Text);
        };
    }

    /// <summary>Holds the characters of a paste the terminal did not bracket (see <see cref="PasteBurst"/>); true
    /// when the key was held.</summary>
    private bool PastedKey(IApplication app, Key key)
    {
        var text = key.IsCtrl || key.IsAlt ? null
            : key == Key.Enter ? "\n"
            : key == Key.Tab ? "\t"
            : key.AsGrapheme is { Length: > 0 } grapheme && !char.IsControl(grapheme[0]) ? grapheme
            : null;
        if (text is null)
        {
            _burst.Interrupt();
            FlushPaste();
            return false;
        }

        if (!_burst.Offer(text, _keyClock()))
        {
            FlushPaste();
            return false;
        }

        if (!_flushScheduled)
        {
            // The main loop runs timeouts after it has handled the keys it read: the paste goes in at once.
            _flushScheduled = true;
            app.AddTimeout(TimeSpan.Zero, () =>
            {
                FlushPaste();
                return false;
            });
        }

        return true;
    }

    /// <summary>Inserts what <see cref="PasteBurst"/> holds as one paste. A paste of several lines is never sent by
    /// its own last newline: it waits in the input to be read over, and Enter sends it. One line ending in Enter is
    /// a line typed (keys that waited while the screen was busy, or a script typing): it is sent.</summary>
    public void FlushPaste()
    {
        _flushScheduled = false;
        if (!_burst.Holding)
        {
            return;
        }

        var (text, dropped) = _burst.Take();
        if (Paste(text, dropped) && text.EndsWith('\n') && text.TrimEnd('\n').IndexOf('\n') < 0)
        {
            SendInput();
        }
        else if (text.TrimEnd('\n').IndexOf('\n') >= 0)
        {
            Hint("pasted: read it over, Enter sends it as one message, Esc clears it");
        }
    }

    private void SendInput()
    {
        var line = _input.Text ?? "";
        _input.Text = "";
        _line.Sent(line);
        OnLine(InputLine.ToLine(line));
    }

    /// <summary>Inserts a paste at the cursor, its line breaks kept (Enter sends it as one message).</summary>
    public void Paste(string text) => _ = Paste(text, 0);

    private bool Paste(string text, long dropped)
    {
        var field = _input.Text ?? "";
        if (dropped == 0 && InputLine.Paste(field, _input.InsertionPoint, text, Naming.MaxTextBytes) is { } pasted)
        {
            _input.Text = pasted.Text;
            _input.InsertionPoint = pasted.Cursor;
            return true;
        }
        else
        {
            var bytes = InputLine.MessageBytes(field) + Encoding.UTF8.GetByteCount(text) + dropped;
            _model.Say(string.Create(CultureInfo.InvariantCulture,
                $"! paste not inserted: with what is typed it makes {(dropped > 0 ? "over " : "")}{bytes:N0} bytes, and a message holds at most {Naming.MaxTextBytes:N0} (UTF-8)"), _now());
            Refresh();
            return false;
        }
    }

    /// <summary>Handles the keys that work everywhere; true when the key was Mesh's.</summary>
    public bool HandleKey(Key key)
    {
        var quitAsked = _quitAskedAt;
        _quitAskedAt = null;
        if (key != Key.Tab && key != Key.Y.WithCtrl && key != Key.U.WithCtrl && key != Key.W.WithCtrl && key != Key.K.WithCtrl)
        {
            _line.OtherKey();
        }

        if (_hint is not null)
        {
            _hint = null;
            _status.Text = StatusText();
        }

        if (key == Key.C.WithCtrl && !string.IsNullOrEmpty(_input.Text))
        {
            // A half-typed line is not thrown away with the program: the first Ctrl+C clears it (Ctrl+Y brings it back).
            ClearDraft();
            return true;
        }

        if (key == Key.C.WithCtrl && !(quitAsked is { } asked && _keyClock() - asked <= QuitConfirmWindow))
        {
            // On an empty line Ctrl+C asks first: a stray press does not leave every group.
            _quitAskedAt = _keyClock();
            Hint("Ctrl+C again leaves every group and quits (or /quit); any other key stays");
            return true;
        }

        if (key == Key.C.WithCtrl || key == Key.Q.WithCtrl)
        {
            _quit();
            return true;
        }

        if (key == Key.F2)
        {
            _panelsShown = !_panelsShown;
            SetNeedsLayout();
            Refresh();
            return true;
        }

        if (key == Key.F3)
        {
            Plain = !Plain;
            return true;
        }

        if (key == Key.R.WithCtrl)
        {
            if (_search is { } search)
            {
                SearchOlder(search.At, search.Draft);
            }
            else
            {
                _search = (_input.Text ?? "", Lines().Count);
                _input.Text = "";
                _status.Text = StatusText();
            }

            return true;
        }

        if (key == Key.CursorUp.WithAlt || key == Key.CursorDown.WithAlt)
        {
            Select(key == Key.CursorUp.WithAlt ? -1 : 1);
            return true;
        }

        if (key == Key.Esc && _selected is not null && string.IsNullOrEmpty(_input.Text))
        {
            Select(0);
            return true;
        }

        if (key == Key.Esc && _search is not null)
        {
            EndSearch(stay: false);
            return true;
        }

        if (EditKey(key))
        {
            return true;
        }

        if (key == Key.Esc)
        {
            // Esc would end a Terminal.Gui application; in a chat it only clears the input line, recoverably.
            ClearDraft();
            return true;
        }

        if (key == Key.PageUp)
        {
            Messages.PageUp();
            return true;
        }

        if (key == Key.PageDown)
        {
            Messages.PageDown();
            return true;
        }

        if (key == Key.End)
        {
            // The newest messages, and the end of the input line (where End puts the cursor anyway).
            Messages.ToNewest();
            _input.InsertionPoint = InputLine.Elements(_input.Text ?? "").Count;
            return true;
        }

        if (key == Key.N.WithCtrl)
        {
            return Switched(_model.Next());
        }

        if (key == Key.P.WithCtrl)
        {
            return Switched(_model.Previous());
        }

        var digit = Array.IndexOf(Digits, key.NoAlt);
        if (key.IsAlt && digit >= 0)
        {
            Switched(_model.SwitchTo(digit));
            return true;
        }

        if (key.IsAlt && !key.IsCtrl && key.NoAlt.AsGrapheme is { Length: > 0 } typed && !char.IsControl(typed[0]))
        {
            // Alt with a key Mesh has no use for (or ESC then a key, typed quickly): the key is typed, not lost.
            var (text, cursor) = InputLine.Insert(_input.Text ?? "", _input.InsertionPoint, typed);
            _input.Text = text;
            _input.InsertionPoint = cursor;
            return true;
        }

        return false;
    }

    /// <summary>The message selected with Alt+Up / Alt+Down (its id): /reply, /react, /unreact, /edit and /delete
    /// typed without an id act on it.</summary>
    private string? _selected;

    /// <summary>Moves the selection <paramref name="step"/> messages older (-1) or newer (1); 0 clears it.</summary>
    private void Select(int step)
    {
        var lines = Lines();
        var at = _selected is { } id ? IndexOfId(lines, id) : lines.Count;
        if (step == 0)
        {
            at = -1;
        }
        else
        {
            do
            {
                at += step;
            }
            while (at >= 0 && at < lines.Count && (lines[at].Id is null || lines[at].DeletedBy is not null));
        }

        _selected = at >= 0 && at < lines.Count ? lines[at].Id : null;
        Messages.Highlighted = _selected is null ? -1 : at;
        if (_selected is null)
        {
            Messages.ToNewest();
        }
        else
        {
            Messages.Reveal(at);
            var text = lines[at].Shown.Replace('\n', ' ');
            Hint($"selected {lines[at].From}: {(text.Length > 24 ? text[..23] + "…" : text)} — /reply TEXT, /react EMOJI, /edit TEXT, /delete act on it; Alt+Up/Down others, Esc none");
        }

        Refresh();
    }

    private static int IndexOfId(IReadOnlyList<ChatLine> lines, string id)
    {
        for (var i = lines.Count - 1; i >= 0; i--)
        {
            if (lines[i].Id == id)
            {
                return i;
            }
        }

        return lines.Count;
    }

    /// <summary>A /reply, /react, /unreact, /edit or /delete typed without an id: the selected message's id put in,
    /// or null (and why) when none is selected.</summary>
    private string? WithSelected(LineCommand command, string line)
    {
        var first = (command.Argument ?? "").Split(' ', 2)[0];
        if (Protocol.KindText.IsId(first))
        {
            return line;
        }

        if (_selected is not { } id)
        {
            _model.Say($"! {command.Text}: select a message first (Alt+Up walks them, newest first) or give its id", _now());
            return null;
        }

        return $"{command.Text} {id}{(command.Argument is { } rest ? " " + rest : "")}";
    }

    /// <summary>How long a second Ctrl+C on an empty line quits.</summary>
    public static readonly TimeSpan QuitConfirmWindow = TimeSpan.FromSeconds(3);

    private TimeSpan? _quitAskedAt;

    /// <summary>A word on the status bar until the next key.</summary>
    private string? _hint;

    private void Hint(string text)
    {
        _hint = text;
        _status.Text = StatusText();
    }

    /// <summary>Clears the input line; what it held goes on the kill ring, and Ctrl+Y brings it back.</summary>
    private void ClearDraft()
    {
        var draft = _input.Text ?? "";
        _input.Text = "";
        if (draft.Length > 0)
        {
            _line.OtherKey();
            _line.Killed(draft);
            _line.OtherKey();
            Hint("input cleared: Ctrl+Y brings it back");
        }
    }

    /// <summary>Readline keys, line history and completion on the input line (see <see cref="InputLine"/>).</summary>
    private bool EditKey(Key key)
    {
        var text = _input.Text ?? "";
        var cursor = _input.InsertionPoint;
        (string Text, int Cursor)? edited = null;
        if (key == Key.A.WithCtrl)
        {
            edited = (text, 0);
        }
        else if (key == Key.E.WithCtrl)
        {
            edited = (text, InputLine.Elements(text).Count);
        }
        else if (key == Key.U.WithCtrl || key == Key.W.WithCtrl || key == Key.K.WithCtrl)
        {
            var kept = key == Key.U.WithCtrl ? InputLine.KillToStart(text, cursor)
                : key == Key.W.WithCtrl ? InputLine.KillWord(text, cursor)
                : InputLine.KillToEnd(text, cursor);
            var e = InputLine.Elements(text);
            var gone = e.Count - InputLine.Elements(kept.Text).Count;
            _line.Killed(string.Concat(e.Skip(kept.Cursor).Take(gone)), before: key != Key.K.WithCtrl);
            edited = kept;
        }
        else if (key == Key.Y.WithCtrl)
        {
            edited = _line.Yank(text, cursor) ?? (text, cursor);
        }
        else if (key == Key.CursorUp)
        {
            edited = _line.Older(text) is { } older ? (older, InputLine.Elements(older).Count) : (text, cursor);
        }
        else if (key == Key.CursorDown)
        {
            edited = _line.Newer() is { } newer ? (newer, InputLine.Elements(newer).Count) : (text, cursor);
        }
        else if (key == Key.Tab)
        {
            var (completed, at, listed) = _line.Tab(text, cursor, _model.Current?.Members.Keys ?? Enumerable.Empty<string>());
            if (listed.Count > 1)
            {
                // Named once; Tab again puts each in turn.
                _model.Say(string.Join("  ", listed) + "   (Tab again: each in turn)", _now());
                Refresh();
            }

            edited = (completed, at);
        }

        if (edited is not { } result)
        {
            return false;
        }

        if (result.Text != text)
        {
            _input.Text = result.Text;
        }

        _input.InsertionPoint = result.Cursor;
        return true;
    }

    private IReadOnlyList<ChatLine> Lines() => _model.Shown.Lines;

    /// <summary>Shows the newest match of the query (the input) older than line <paramref name="before"/>.</summary>
    private void SearchOlder(int before, string draft)
    {
        var query = _input.Text ?? "";
        var found = HistorySearch.Older(Lines(), query, before);
        if (found < 0 && before < Lines().Count && query.Length > 0)
        {
            // Past the oldest: start again from the newest, as readline does not but a chat's history wants.
            found = HistorySearch.Older(Lines(), query, Lines().Count);
        }

        _search = (draft, found < 0 ? Lines().Count : found);
        Messages.Highlighted = found;
        if (found >= 0)
        {
            Messages.Reveal(found);
        }

        _status.Text = StatusText();
    }

    /// <summary>Ends a search: the view stays on the match (Enter) or goes back to the newest (Esc); what was typed
    /// before comes back.</summary>
    private void EndSearch(bool stay)
    {
        var draft = _search?.Draft ?? "";
        _search = null;
        Messages.Highlighted = -1;
        _input.Text = draft;
        _input.InsertionPoint = InputLine.Elements(draft).Count;
        if (!stay)
        {
            Messages.ToNewest();
        }

        Refresh();
    }

    /// <summary><c>/search TEXT</c>: how many messages of the group match, the newest shown and highlighted; Ctrl+R
    /// steps to older ones.</summary>
    private void SearchCommand(string query)
    {
        if (_model.Current is not { } group)
        {
            _model.Say("! /search: no group shown", _now());
            return;
        }

        var found = HistorySearch.Older(group.Lines, query, group.Lines.Count);
        var (count, _) = HistorySearch.Count(group.Lines, query, found);
        var loading = group.Ready ? "" : " (history still loading: what has come so far)";
        var messages = group.Lines.Count(l => l.Kind != ChatLineKind.System);
        _model.Say(string.Create(CultureInfo.InvariantCulture,
            $"{count:N0} of {messages:N0} messages in {group.Name} match '{query}'{loading}{(count > 0 ? ": the newest is highlighted, Ctrl+R then steps to older ones" : "")}"), _now());
        if (found >= 0)
        {
            _search = ("", found);
            _input.Text = query;
            _input.InsertionPoint = InputLine.Elements(query).Count;
            Messages.Highlighted = found;
            Messages.Reveal(found);
        }
    }

    private bool Switched(bool switched)
    {
        if (switched && _model.Current is { } group)
        {
            // The session sends typed lines to its current group: keep it on the one shown.
            _send($"/switch {group.Name}", null);
            Messages.ToNewest();
            Refresh();
        }

        return true;
    }

    private void OnLine(string line)
    {
        var command = LineCommand.Parse(line);
        if (command.Kind != LineCommand.Kinds.Empty)
        {
            // What a line typed gets for an answer is seen: the view goes to the newest.
            Messages.ToNewest();
        }

        switch (command.Kind)
        {
            case LineCommand.Kinds.Empty:
                return;
            case LineCommand.Kinds.Quit:
                _quit();
                break;
            case LineCommand.Kinds.Help when !string.IsNullOrWhiteSpace(command.Argument):
                _model.Say(LineCommand.HelpFor(command.Argument), _now());
                break;
            case LineCommand.Kinds.Help:
                _model.Say(Help, _now());
                break;
            case LineCommand.Kinds.Search when !string.IsNullOrWhiteSpace(command.Argument):
                SearchCommand(command.Argument);
                break;
            case LineCommand.Kinds.Search:
                _model.Say("! /search: say what to find, /search TEXT", _now());
                break;
            case LineCommand.Kinds.Members:
                if (_model.Current is { } group)
                {
                    var online = group.People.Where(m => m.Online)
                        .Select(m => _model.LinkText(m.PeerId, true) is { Length: > 0 } link ? $"{m.Label} ({link})" : m.Label).ToList();
                    _model.Say($"{online.Count} online in {group.Name}: {string.Join(", ", online)}", _now());
                }

                break;
            case LineCommand.Kinds.Switch:
                var target = command.Argument ?? "";
                if (_model.SwitchTo(target))
                {
                    Switched(true);
                }
                else
                {
                    _model.Say($"! not in group '{target}'", _now());
                }

                break;
            case LineCommand.Kinds.Close:
                var closing = command.Argument ?? _model.Current?.Name;
                if (closing is null)
                {
                    _model.Say("! /close: no group is shown; /close G closes the view of a group you left", _now());
                }
                else if (_model.Close(closing) is { } refused)
                {
                    _model.Say($"! /close: {refused}", _now());
                }
                else
                {
                    Switched(_model.Current is not null);
                }

                break;
            case LineCommand.Kinds.Join or LineCommand.Kinds.Accept:
                var joining = command.Kind == LineCommand.Kinds.Join
                    ? JoinArguments.ParseJoin(command.Argument, out _)
                    : JoinArguments.ParseAccept(command.Argument, out _);
                if (joining is not null)
                {
                    // The group joined is shown: now if its view is open (left earlier), else as soon as it exists.
                    _model.Follow(joining.Group);
                }

                _send(line, null);
                Messages.ToNewest();
                break;
            case LineCommand.Kinds.Message or LineCommand.Kinds.Remove or LineCommand.Kinds.Admin or LineCommand.Kinds.Reply
                or LineCommand.Kinds.React or LineCommand.Kinds.Unreact or LineCommand.Kinds.Edit or LineCommand.Kinds.Delete
                when _model.Current is { Gone: { } gone } left:
                _model.Say($"! you are no longer a member of {left.Name} ({gone}): nothing is sent. /join {left.Name} asks to join again, /close closes this view", _now());
                break;
            case LineCommand.Kinds.Reply or LineCommand.Kinds.React or LineCommand.Kinds.Unreact or LineCommand.Kinds.Edit or LineCommand.Kinds.Delete
                when _model.Current is { Gone: null } showing:
                if (WithSelected(command, line) is { } targeted)
                {
                    _send(targeted, showing.Name);
                    Select(0);
                }

                break;
            case LineCommand.Kinds.Leave when command.Argument is null && _model.Current is { Gone: { } } left:
                _model.Say($"! you are not in {left.Name} any more: /close closes its view", _now());
                break;
            default:
                // The line goes to the group shown as it was typed, whatever the session's current group is by now.
                _send(line, _model.Current is { Gone: null } shown ? shown.Name : null);
                Messages.ToNewest();
                break;
        }

        Refresh();
    }

    /// <summary>The status bar, with what the input holds when it is several lines or near the size limit.</summary>
    private string StatusText()
    {
        var field = _input.Text ?? "";
        var status = _model.StatusLine(shortFingerprint: Narrow, compact: Frame.Width > 0 && Frame.Width < PanelsBesideWidth);
        if (_hint is { } hint)
        {
            return $" {hint} |{status}";
        }

        if (_search is { } search)
        {
            var (count, ordinal) = HistorySearch.Count(Lines(), field, search.At);
            var where = field.Length == 0 ? "type what to find"
                : count == 0 ? "no match"
                : string.Create(CultureInfo.InvariantCulture, $"match {ordinal:N0} of {count:N0}");
            return $" search: {where}; Ctrl+R older, Enter stays here, Esc back |{status}";
        }

        if (field.Length == 0)
        {
            return status;
        }

        var lines = InputLine.Lines(field);
        var bytes = InputLine.MessageBytes(field);
        if (lines == 1 && bytes < Naming.MaxTextBytes * 3 / 4)
        {
            return status;
        }

        // First, where it is seen: the bar is cut at the right on a narrow screen.
        var size = bytes > Naming.MaxTextBytes ? "too long to send" : lines > 1 ? "Enter sends one message" : "near the limit";
        return string.Create(CultureInfo.InvariantCulture, $" input: {lines:N0} lines, {bytes:N0} of {Naming.MaxTextBytes:N0} B, {size} |{status}");
    }

    /// <summary>True when the screen is narrower than <see cref="NarrowWidth"/>.</summary>
    public bool Narrow => Frame.Width > 0 && Frame.Width < NarrowWidth;

    /// <summary>True while the group and member panels are on screen.</summary>
    public bool PanelsVisible => !_plain && (!Narrow || _panelsShown);

    /// <summary>True while the panels show in place of the messages (F2 on a screen narrower than
    /// <see cref="PanelsBesideWidth"/>).</summary>
    public bool PanelsInstead => PanelsVisible && Frame.Width > 0 && Frame.Width < PanelsBesideWidth;

    /// <summary>The plain view (F3): the messages as bare lines, no borders or panels, and the mouse given back to
    /// the terminal, so that a drag selects text to copy as in any terminal program.</summary>
    public bool Plain
    {
        get => _plain;
        set
        {
            if (_plain == value)
            {
                return;
            }

            _plain = value;
            if (App is { } app)
            {
                // Mouse tracking off: the terminal selects and copies again; on when the view comes back.
                app.Mouse.IsMouseDisabled = value;
                app.Driver?.WriteRaw(value ? Terminal.Gui.Drivers.EscSeqUtils.CSI_DisableMouseEvents : Terminal.Gui.Drivers.EscSeqUtils.CSI_EnableMouseEvents);
            }

            SetNeedsLayout();
            Refresh();
        }
    }

    protected override void OnSubViewLayout(LayoutEventArgs args)
    {
        var mode = (PanelsVisible, !PanelsInstead, _plain);
        if (_laidOut != mode)
        {
            _laidOut = mode;
            var (show, beside, plain) = mode;
            BorderStyle = plain ? LineStyle.None : _borders.Window;
            _messageFrame.BorderStyle = plain ? LineStyle.None : _borders.Frame;
            _groupFrame.Visible = show;
            _memberFrame.Visible = show;
            _messageFrame.Visible = !show || beside;
            _groupFrame.Width = beside ? SideWidth : Dim.Percent(50);
            _memberFrame.X = beside ? Pos.AnchorEnd(SideWidth) : Pos.Percent(50);
            _memberFrame.Width = beside ? SideWidth : Dim.Fill();
            _messageFrame.X = show ? SideWidth : 0;
            _messageFrame.Width = show ? Dim.Fill(SideWidth) : Dim.Fill();
            _messageFrame.Height = plain ? Dim.Fill(1) : Dim.Fill(2);
            _input.Y = plain ? Pos.AnchorEnd(1) : Pos.AnchorEnd(2);
            _status.Visible = !plain;
            _messageFrame.Title = MessageTitle();
            _status.Text = StatusText();
        }

        base.OnSubViewLayout(args);
    }

    /// <summary>The message pane's title: the group, and with the panels folded, the other groups' news and the key.</summary>
    private string MessageTitle()
    {
        var name = _model.Current?.Name ?? "no group: /join G";
        if (PanelsVisible && !PanelsInstead)
        {
            return name;
        }

        var news = _model.Groups.Where(g => g != _model.Current && g.Unread > 0)
            .Select(g => $"{g.Name}{(g.UnreadMentions > 0 ? $" @{g.UnreadMentions}" : "")} ({g.Unread})");
        var others = string.Join(", ", news);
        return others.Length > 0 ? $"{name} | {others} | F2 panels" : $"{name} | F2 panels";
    }

    /// <summary>A member pane row: presence, name, and at the right the link (its round trip when up).</summary>
    private static string MemberRow(string label, bool online, bool linkUp, string link)
    {
        var dot = !online ? "○" : linkUp ? "●" : "◐";
        var left = $"{dot} {label}";
        var room = SideWidth - 2 - left.Length - 1;
        return link.Length == 0 || link == "you" || room < link.Length ? left : left + new string(' ', room - link.Length + 1) + link;
    }

    /// <summary>Brings every view up to date with the model (UI thread).</summary>
    public void Refresh()
    {
        _groupItems.Clear();
        for (var i = 0; i < _model.Groups.Count; i++)
        {
            var g = _model.Groups[i];
            // Mentions first, apart: "ops @2 (5)" is five new, two of them for me.
            var unread = (g.UnreadMentions > 0 ? $" @{g.UnreadMentions}" : "") + (g.Unread > 0 ? $" ({g.Unread})" : "");
            var marker = i == _model.CurrentIndex ? ">" : " ";
            // A long name gives way to the counts: they are what the list is read for.
            var head = $"{marker}{i + 1} ";
            var room = (PanelsInstead ? Math.Max(SideWidth, Frame.Width / 2) : SideWidth) - 2 - head.Length - unread.Length;
            var name = g.Name.Length <= room || room < 2 ? g.Name : g.Name[..(room - 1)] + "…";
            _groupItems.Add($"{head}{name}{unread}");
        }

        _groups.SelectedItem = _model.Groups.Count == 0 ? null : _model.CurrentIndex;
        _memberItems.Clear();
        if (_model.Current is { } current)
        {
            foreach (var (label, peerId, online) in current.People)
            {
                _memberItems.Add(MemberRow(label, online, _model.LinkUp(peerId), _model.LinkText(peerId, online)));
            }
        }

        _messageFrame.Title = MessageTitle();
        if (_model.Bell)
        {
            _model.Bell = false;
            App?.Driver?.WriteRaw("\a");
            Rang++;
        }

        _status.Text = StatusText();
        Messages.SetNeedsDraw();
        SetNeedsDraw();
    }
}
