using Mesh.Peer.Session;
using Mesh.Peer.Ui;
using Terminal.Gui.App;
using Terminal.Gui.Drivers;
using Terminal.Gui.Input;
using Terminal.Gui.Testing;
using Terminal.Gui.Time;

namespace Mesh.UnitTests.Ui;

/// <summary>The chat screen driven like a user would, on Terminal.Gui's virtual-time application (no TTY).</summary>
[Category("Unit")]
public sealed class ChatWindowTests
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private IApplication _app = null!;
    private ChatModel _model = null!;
    private ChatWindow _window = null!;
    private SessionToken? _token;
    private readonly List<string> _sent = [];
    private readonly List<string?> _sentTo = [];
    private int _quits;
    private TimeSpan _keyTime;
    private TimeSpan _keyStep;

    [SetUp]
    public void Open()
    {
        _sent.Clear();
        _sentTo.Clear();
        _quits = 0;
        (_app, var resolved) = AltKeys.CreateApplication(new VirtualTimeProvider());
        Assert.That(resolved, Is.True, "Alt+key is read by Mesh's input processor");
        _app.Init(DriverRegistry.Names.ANSI);
        _app.Driver!.SetScreenSize(100, 24);
        _model = new ChatModel("amy", "1111:2222:3333:4444:5555");
        _model.Group("ops");
        _model.Group("dev");
        _keyTime = TimeSpan.Zero;
        _keyStep = TimeSpan.FromMilliseconds(120);
        _window = new ChatWindow(_model, (line, group) => { _sent.Add(line); _sentTo.Add(group); }, () => _quits++, () => Noon, () => _keyTime += _keyStep);
        _window.Messages.Zone = TimeZoneInfo.Utc;
        _window.Attach(_app);
        _token = _app.Begin(_window);
        _window.Input.SetFocus();
    }

    [TearDown]
    public void Close()
    {
        if (_token is not null)
        {
            _app.End(_token);
        }

        _window.Dispose();
        _app.Dispose();
    }

    private void Apply(params MeshEvent[] events)
    {
        foreach (var e in events)
        {
            _model.Apply(e, Noon);
        }

        _window.Refresh();
    }

    private string Screen()
    {
        _app.LayoutAndDraw(true);
        return _app.Driver!.ToString()!;
    }

    private void Type(string text)
    {
        foreach (var c in text)
        {
            _app.InjectKey(new Key(c));
        }

        _app.InjectKey(Key.Enter);
    }

    private static MessageEvent Message(string group, string from, string text, int minute = 0, bool own = false) =>
        new(group, Guid.NewGuid().ToString(), from, text, Noon.AddMinutes(minute), own);

    [Test]
    public void The_screen_shows_groups_messages_with_time_members_and_the_status_bar()
    {
        Apply(new ReadyEvent("ops", ["amy", "bo"]), new LinksEvent(1, 1), Message("ops", "bo", "morning all", 1), Message("ops", "amy", "hi bo", 2, own: true));
        var screen = Screen();
        Assert.That(screen, Does.Contain(">1 ops").And.Contain(" 2 dev"));
        Assert.That(screen, Does.Contain("Tue 24 Nov 2026"), "a date line");
        Assert.That(screen, Does.Contain("12:01 bo: morning all"));
        Assert.That(screen, Does.Contain("12:02 » amy: hi bo"), "own messages set apart");
        Assert.That(screen, Does.Contain("● amy").And.Contain("● bo"));
        Assert.That(screen, Does.Contain("amy [1111:2222:3333:4444:5555] | ops | etcd connected | 1/1 peers connected"));
    }

    [Test]
    public void Enter_sends_the_typed_line_and_clears_the_input()
    {
        Type("hello there");
        Assert.That(_sent, Is.EqualTo(new[] { "hello there" }));
        Assert.That(_window.Input.Text, Is.Empty);
    }

    [Test]
    public void Alt_digit_switches_group_clears_its_unread_count_and_moves_the_session_along()
    {
        Apply(new ReadyEvent("ops", ["amy"]), new ReadyEvent("dev", ["amy"]), Message("dev", "cy", "psst"), Message("dev", "cy", "psst again"));
        Assert.That(Screen(), Does.Contain(" 2 dev (2)"));
        _app.InjectKey(Key.D2.WithAlt);
        var screen = Screen();
        Assert.That(screen, Does.Contain(">2 dev").And.Not.Contain("(2)"));
        Assert.That(screen, Does.Contain("cy: psst again"));
        Assert.That(screen, Does.Contain("| dev |"));
        Assert.That(_sent, Is.EqualTo(new[] { "/switch dev" }));
    }

    /// <summary>Puts <paramref name="keys"/> into the terminal input all at once, as a terminal writes keys typed with
    /// no delay between them, and has the application read them.</summary>
    private void Arrive(string keys)
    {
        var input = (AltKeys.InputProcessor)_app.Driver!.GetInputProcessor();
        foreach (var c in keys)
        {
            input.InputQueue.Enqueue(c);
        }

        input.ProcessQueue();
        _window.FlushPaste();
    }

    [Test]
    public void Alt_digit_followed_at_once_by_a_command_switches_first_and_no_key_is_lost_or_sent_to_the_old_group()
    {
        Apply(new ReadyEvent("ops", ["amy"]), new ReadyEvent("dev", ["amy"]));
        Arrive("\u001b2/remove cy\r");
        Assert.That(_model.Current!.Name, Is.EqualTo("dev"));
        Assert.That(_sent, Is.EqualTo(new[] { "/switch dev", "/remove cy" }), "every key, in order");
        Assert.That(_sentTo[1], Is.EqualTo("dev"), "the command goes to the group shown when it was typed");

        Arrive("\u001b1hello");
        Assert.That(_model.Current!.Name, Is.EqualTo("ops"));
        Assert.That(_window.Input.Text, Is.EqualTo("hello"));

        Arrive("\u001b,x");
        Assert.That(_window.Input.Text, Is.EqualTo("hello,x"), "Alt with a key Mesh has no use for types the key");
        foreach (var special in new[] { Key.CursorLeft.WithAlt, Key.F5.WithAlt, Key.PageUp.WithAlt, Key.Delete.WithAlt, Key.Enter.WithAlt })
        {
            _app.InjectKey(special);
        }

        Assert.That(_window.Input.Text, Is.EqualTo("hello,x"), "Alt with a key that types nothing types nothing, and nothing breaks");
        Arrive("\u001b[D\u001b[DY");
        Assert.That(_window.Input.Text, Is.EqualTo("helloY,x"), "sequences (two Lefts) are read as before");
    }

    [Test]
    public void A_line_typed_in_a_group_left_is_not_sent_anywhere_and_says_why()
    {
        Apply(new ReadyEvent("ops", ["amy", "bo"]), new ReadyEvent("dev", ["amy"]), Message("ops", "bo", "the plan is on the wiki"),
            new ErrorEvent("you were removed from 'ops' by bo") { Group = "ops" },
            new MemberEvent("ops", "amy", "aaaa", false, MemberEvent.Removed) { By = "bo" });
        var screen = Screen();
        Assert.That(screen, Does.Contain("bo: the plan is on the wiki"), "the history stays readable");
        Assert.That(screen, Does.Contain("you were removed from 'ops' by bo"));
        Assert.That(screen, Does.Contain("ops (not a member: removed by bo)"));
        Type("still there?");
        Assert.That(_sent, Is.Empty, "nothing is sent, to ops or to any other group");
        Assert.That(Screen(), Does.Contain("! you are no longer a member of ops"));
        Type("/close");
        Assert.That(_model.Current!.Name, Is.EqualTo("dev"));
        Type("/leave");
        Apply(new MemberEvent("dev", "amy", "aaaa", false, MemberEvent.Left));
        Type("/close");
        Assert.That(_model.Current, Is.Null);
        Type("/help close");
        Type("/nosuch");
        screen = Screen();
        Assert.That(screen, Does.Contain("/close [G]: close the view"), "with no group, the screen still answers");
        Assert.That(screen, Does.Contain("no group: /join G"));
    }

    [Test]
    public void Alt_Up_selects_a_message_and_reply_react_edit_delete_without_an_id_act_on_it()
    {
        var amy = new string('a', 32);
        Apply(new ReadyEvent("ops", ["amy", "bo"]),
            Message("ops", "bo", "lunch?", 1) with { Id = $"{new string('b', 32)}:1:1", Key = "1" },
            Message("ops", "amy", "mine", 2, own: true) with { Id = $"{amy}:1:1", Key = "2" });
        Type("/react +1");
        Assert.That(_sent, Is.Empty, "nothing selected: nothing sent");
        Assert.That(Screen(), Does.Contain("select a message first"));
        _app.InjectKey(Key.CursorUp.WithAlt);
        _app.InjectKey(Key.CursorUp.WithAlt);
        Assert.That(Screen(), Does.Contain("selected bo: lunch? — /reply TEXT"));
        Type("/reply at noon");
        Assert.That(_sent, Is.EqualTo(new[] { $"/reply {new string('b', 32)}:1:1 at noon" }));
        Assert.That(_sentTo, Is.EqualTo(new[] { "ops" }));
        _app.InjectKey(Key.CursorUp.WithAlt);
        Type("/delete");
        Assert.That(_sent[^1], Is.EqualTo($"/delete {amy}:1:1"), "the newest first");
    }

    [Test]
    public void Ctrl_N_and_Ctrl_P_cycle_through_the_groups()
    {
        _app.InjectKey(Key.N.WithCtrl);
        Assert.That(_model.Current!.Name, Is.EqualTo("dev"));
        _app.InjectKey(Key.N.WithCtrl);
        Assert.That(_model.Current!.Name, Is.EqualTo("ops"));
        _app.InjectKey(Key.P.WithCtrl);
        Assert.That(_model.Current!.Name, Is.EqualTo("dev"));
    }

    [Test]
    public void PageUp_scrolls_back_through_history_and_PageDown_returns()
    {
        Apply([new ReadyEvent("ops", ["amy"]), .. Enumerable.Range(0, 100).Select(i => Message("ops", "bo", $"line {i:D3}"))]);
        Assert.That(Screen(), Does.Contain("line 099").And.Not.Contain("line 000"));
        for (var i = 0; i < 10; i++)
        {
            _app.InjectKey(Key.PageUp);
        }

        Assert.That(Screen(), Does.Contain("line 000").And.Not.Contain("line 099"));
        for (var i = 0; i < 10; i++)
        {
            _app.InjectKey(Key.PageDown);
        }

        Assert.That(Screen(), Does.Contain("line 099"));
    }

    [Test]
    public void Scrolled_back_the_view_holds_still_as_messages_come_says_how_many_and_End_shows_them()
    {
        Apply([new ReadyEvent("ops", ["amy"]), .. Enumerable.Range(0, 100).Select(i => Message("ops", "bo", $"line {i:D3}"))]);
        _app.InjectKey(Key.PageUp);
        _app.InjectKey(Key.PageUp);
        var before = Screen();
        var top = before.Split('\n').First(l => l.Contains("line "));
        Apply([.. Enumerable.Range(0, 5).Select(i => Message("ops", "cy", $"new {i}"))]);
        var after = Screen();
        Assert.That(after.Split('\n').First(l => l.Contains("line ")), Is.EqualTo(top), "the rows read stay where they were");
        Assert.That(after, Does.Contain("5 new below: End shows them"));
        _app.InjectKey(Key.End);
        var newest = Screen();
        Assert.That(newest, Does.Contain("cy: new 4").And.Not.Contain("new below"));
    }

    [Test]
    public void Help_and_members_commands_answer_on_screen_without_reaching_the_session()
    {
        Apply(new ReadyEvent("ops", ["amy", "bo"]));
        Type("/help");
        Type("/members");
        var screen = Screen();
        Assert.That(_model.Current!.Lines.Any(l => l.Text.StartsWith("keys and commands (/help CMD says more of one):\n", StringComparison.Ordinal)));
        var column = screen.Split('\n').First(r => r.Contains("/help [CMD] ")).IndexOf("list keys and commands", StringComparison.Ordinal);
        Assert.That(screen.Split('\n').First(r => r.Contains("/quit ")).IndexOf("leave every group", StringComparison.Ordinal), Is.EqualTo(column),
            "commands in columns, one per row");
        var rows = HelpTable.Text().Split('\n').Skip(1).ToList();
        var keyColumn = rows[0].IndexOf("send the line", StringComparison.Ordinal);
        Assert.That(rows.All(r => r.Length > keyColumn && r[keyColumn - 1] == ' ' && r[keyColumn] != ' '), Is.True, "keys in the same columns");
        Assert.That(screen, Does.Contain("2 online in ops: amy, bo"));
        Type("/help remove");
        var helped = Screen();
        Assert.That(helped, Does.Contain("/remove NAME: remove a member"), helped);
        Assert.That(_sent, Is.Empty);
    }

    [Test]
    public void Join_leave_and_remove_go_to_the_session_and_quit_leaves_cleanly()
    {
        Type("/join lab");
        Type("/leave dev");
        Type("/remove bo#5700");
        Assert.That(_sent, Is.EqualTo(new[] { "/join lab", "/leave dev", "/remove bo#5700" }));
        Type("/quit");
        _app.InjectKey(Key.C.WithCtrl);
        _app.InjectKey(Key.C.WithCtrl);
        Assert.That(_quits, Is.EqualTo(2));
    }

    private void Keys(string text)
    {
        foreach (var c in text)
        {
            _app.InjectKey(new Key(c));
        }
    }

    [Test]
    public void Up_brings_back_earlier_lines_and_readline_keys_edit_the_input()
    {
        Type("first line");
        Type("second line");
        Keys("draft");
        _app.InjectKey(Key.CursorUp);
        Assert.That(_window.Input.Text, Is.EqualTo("second line"));
        _app.InjectKey(Key.CursorUp);
        Assert.That(_window.Input.Text, Is.EqualTo("first line"));
        _app.InjectKey(Key.CursorDown);
        _app.InjectKey(Key.CursorDown);
        Assert.That(_window.Input.Text, Is.EqualTo("draft"), "the draft comes back");

        _window.Input.Text = "hello big world";
        _app.InjectKey(Key.A.WithCtrl);
        Keys("> ");
        Assert.That(_window.Input.Text, Is.EqualTo("> hello big world"), "Ctrl+A goes to the start, it does not select all");
        _app.InjectKey(Key.E.WithCtrl);
        _app.InjectKey(Key.W.WithCtrl);
        Assert.That(_window.Input.Text, Is.EqualTo("> hello big "));
        _app.InjectKey(Key.U.WithCtrl);
        Assert.That(_window.Input.Text, Is.Empty);
    }

    [Test]
    public void Tab_completes_member_names_and_commands()
    {
        Apply(new ReadyEvent("ops", ["amy", "bo", "bea", "cyrus"]));
        Keys("cy");
        _app.InjectKey(Key.Tab);
        Assert.That(_window.Input.Text, Is.EqualTo("cyrus: "));
        _window.Input.Text = "";
        Keys("/mem");
        _app.InjectKey(Key.Tab);
        Assert.That(_window.Input.Text, Is.EqualTo("/members "));
        _window.Input.Text = "";
        Keys("hi b");
        _app.InjectKey(Key.Tab);
        Assert.That(Screen(), Does.Contain("bea  bo"), "several candidates are named");
        _app.InjectKey(Key.Tab);
        Assert.That(_window.Input.Text, Is.EqualTo("hi bea "), "Tab again puts the first");
        _app.InjectKey(Key.Tab);
        Assert.That(_window.Input.Text, Is.EqualTo("hi bo "), "then the next");
        _app.InjectKey(Key.Tab);
        Assert.That(_window.Input.Text, Is.EqualTo("hi bea "), "round");
        Assert.That(Screen().Split("bea  bo").Length - 1, Is.EqualTo(1), "named once, not on every press");
        Keys("x");
        _app.InjectKey(Key.Tab);
        Assert.That(_window.Input.Text, Is.EqualTo("hi bea x"), "another key ends the cycle");
    }

    [Test]
    public void Cut_text_goes_on_a_kill_ring_and_Ctrl_Y_yanks_it_back()
    {
        Keys("one two three");
        _app.InjectKey(Key.W.WithCtrl);
        _app.InjectKey(Key.W.WithCtrl);
        Assert.That(_window.Input.Text, Is.EqualTo("one "));
        _app.InjectKey(Key.Y.WithCtrl);
        Assert.That(_window.Input.Text, Is.EqualTo("one two three"), "cuts in a row are one entry");
        _app.InjectKey(Key.A.WithCtrl);
        _app.InjectKey(Key.K.WithCtrl);
        Assert.That(_window.Input.Text, Is.Empty);
        _app.InjectKey(Key.Y.WithCtrl);
        _app.InjectKey(Key.Y.WithCtrl);
        Assert.That(_window.Input.Text, Is.EqualTo("one two threeone two three"));
    }

    [Test]
    public void Ctrl_C_with_a_half_typed_line_clears_it_then_asks_and_only_a_second_press_quits()
    {
        Keys("half a thought");
        _app.InjectKey(Key.C.WithCtrl);
        Assert.That(_window.Input.Text, Is.Empty);
        Assert.That(Screen(), Does.Contain("input cleared: Ctrl+Y brings it back"));
        _app.InjectKey(Key.C.WithCtrl);
        Assert.That(_quits, Is.Zero, "on an empty line the first Ctrl+C asks");
        Assert.That(Screen(), Does.Contain("Ctrl+C again leaves every group and quits"));
        _app.InjectKey(Key.Y.WithCtrl);
        Assert.That(_window.Input.Text, Is.EqualTo("half a thought"), "the cleared line comes back");
        _window.Input.Text = "";
        _app.InjectKey(Key.C.WithCtrl);
        _app.InjectKey(Key.CursorLeft);
        _app.InjectKey(Key.C.WithCtrl);
        Assert.That(_quits, Is.Zero, "another key in between: asked again");
        _app.InjectKey(Key.C.WithCtrl);
        Assert.That(_quits, Is.EqualTo(1));
    }

    [Test]
    public void Long_lines_wrap_and_wide_and_combining_characters_render()
    {
        var longText = string.Join(' ', Enumerable.Range(0, 40).Select(i => $"word{i}"));
        Apply(new ReadyEvent("ops", ["amy"]), Message("ops", "bo", longText), Message("ops", "bo", "日本語のテキスト 🌍 café ñ"));
        var screen = Screen();
        Assert.That(screen, Does.Contain("word0").And.Contain("word39"), "every word is shown, across rows");
        Assert.That(screen, Does.Contain("日本語のテキスト"));
        Assert.That(screen, Does.Contain("🌍"));
        Assert.That(screen, Does.Contain("café"));
    }

    [Test]
    public void Resizing_keeps_the_input_and_status_bar_on_screen()
    {
        Apply(new ReadyEvent("ops", ["amy"]), Message("ops", "bo", "still visible after resize"));
        _app.Driver!.SetScreenSize(70, 12);
        var screen = Screen();
        var rows = screen.Split('\n');
        Assert.That(rows.Count(r => r.Length > 0), Is.LessThanOrEqualTo(12));
        Assert.That(screen, Does.Contain("amy [1111] | ops"), "narrow: the short fingerprint");
        Assert.That(screen, Does.Contain("still visible"));
    }

    [Test]
    public void Losing_etcd_shows_at_once_with_the_retry_then_the_reconnection()
    {
        Apply(new ReadyEvent("ops", ["amy"]), new ConnectionEvent("etcd", ConnectionState.Disconnected));
        Assert.That(Screen(), Does.Contain("| etcd unreachable |"));
        Apply(new ConnectionEvent("etcd", ConnectionState.Reconnecting, TimeSpan.FromSeconds(4)));
        Assert.That(Screen(), Does.Contain("etcd unreachable — retrying in 4 s"));
        Apply(new ConnectionEvent("etcd", ConnectionState.Reconnected));
        var screen = Screen();
        Assert.That(screen, Does.Contain("| etcd reconnected |"));
        Assert.That(screen, Does.Contain("-- etcd reconnected"));
    }

    [Test]
    public void A_long_history_shows_its_loading_progress_until_ready()
    {
        Apply(new HistoryProgressEvent("ops", 5000));
        Assert.That(Screen(), Does.Contain("ops (loading history: 5,000)"));
        Apply(new HistoryProgressEvent("ops", 10000));
        Assert.That(Screen(), Does.Contain("ops (loading history: 10,000)"));
        Apply(new ReadyEvent("ops", ["amy"]));
        Assert.That(Screen(), Does.Not.Contain("loading history"));
    }

    [Test]
    public void Esc_clears_the_input_line_and_does_not_end_the_chat()
    {
        foreach (var c in "draft")
        {
            _app.InjectKey(new Key(c));
        }

        Assert.That(_window.Input.Text, Is.EqualTo("draft"));
        _app.InjectKey(Key.Esc);
        Assert.That(_window.Input.Text, Is.Empty);
        Assert.That(_quits, Is.Zero);
        Assert.That(_app.TopRunnableView, Is.SameAs(_window), "still running");
        _app.InjectKey(Key.Y.WithCtrl);
        Assert.That(_window.Input.Text, Is.EqualTo("draft"), "Ctrl+Y brings the draft back");
    }

    [Test]
    public void A_bracketed_paste_of_several_lines_is_one_message_with_its_line_breaks()
    {
        foreach (var c in "see: ")
        {
            _app.InjectKey(new Key(c));
        }

        _app.RaisePasteEvent("one\r\ntwo\nthree\n");
        Assert.That(_window.Input.Text, Is.EqualTo("see: one\u21B5two\u21B5three"), "inserted whole at the cursor, breaks shown");
        Assert.That(Screen(), Does.Contain("input: 3 lines, 18 of 16,384 B, Enter sends one message | amy"));
        Assert.That(_sent, Is.Empty, "a paste is not sent by itself");
        _app.InjectKey(Key.Enter);
        Assert.That(_sent, Is.EqualTo(new[] { "see: one\ntwo\nthree" }));
        Assert.That(Screen(), Does.Not.Contain("input:"));
    }

    [Test]
    public void A_pasted_text_that_starts_with_a_slash_is_a_message_not_a_command()
    {
        _app.RaisePasteEvent("/leave ops\nis what I typed");
        _app.InjectKey(Key.Enter);
        Assert.That(_sent, Is.EqualTo(new[] { "//leave ops\nis what I typed" }), "a leading '/' escaped: the session sends it as text");
        Assert.That(LineCommand.Parse(_sent[0]).Kind, Is.EqualTo(LineCommand.Kinds.Message));
    }

    [Test]
    public void A_paste_up_to_the_size_limit_goes_in_whole_and_one_past_it_is_refused_in_one_line()
    {
        var big = string.Join("\n", Enumerable.Range(0, 16 * 1024 / 64).Select(i => new string((char)('a' + i % 26), 63)));
        Assert.That(System.Text.Encoding.UTF8.GetByteCount(big), Is.EqualTo(16 * 1024 - 1));
        Screen();
        var took = System.Diagnostics.Stopwatch.StartNew();
        _app.RaisePasteEvent(big);
        var pasted = took.ElapsedMilliseconds;
        var screen = Screen();
        took.Stop();
        Assert.That(_window.Input.Text!.Replace('\u21B5', '\n'), Is.EqualTo(big));
        Assert.That(screen, Does.Contain("input: 256 lines, 16,383 of 16,384 B"));
        TestContext.Out.WriteLine($"16 KiB paste inserted and drawn in {took.ElapsedMilliseconds} ms");
        _app.RaisePasteEvent("xy");
        Assert.That(_window.Input.Text!.Replace('\u21B5', '\n'), Is.EqualTo(big), "nothing of a paste that does not fit goes in");
        Assert.That(Screen(), Does.Contain("! paste not inserted: with what is typed it"));
        Assert.That(_model.Current!.Lines[^1].Text, Does.Contain("makes 16,385 bytes, and a message holds at most 16,384"));
        _app.InjectKey(Key.C.WithCtrl);
        Assert.That(_window.Input.Text, Is.Empty, "Ctrl+C clears a pasted text first");
        Assert.That(_quits, Is.Zero);
    }

    [Test]
    public void Keys_that_come_faster_than_typing_are_one_paste_and_only_its_last_return_sends()
    {
        foreach (var c in "hi ")
        {
            _app.InjectKey(new Key(c));
        }

        _keyStep = TimeSpan.FromMilliseconds(1);
        foreach (var key in "one\rtwo\rthree".Select(c => c == '\r' ? Key.Enter : new Key(c)))
        {
            _app.InjectKey(key);
        }

        Assert.That(_sent, Is.Empty, "no line of the paste sent by itself");
        _window.FlushPaste();
        Assert.That(_window.Input.Text, Is.EqualTo("hi one\u21B5two\u21B5three"));
        _keyStep = TimeSpan.FromMilliseconds(150);
        _app.InjectKey(Key.Enter);
        Assert.That(_sent, Is.EqualTo(new[] { "hi one\ntwo\nthree" }), "a person's Enter sends the whole paste");

        _keyStep = TimeSpan.FromMilliseconds(150);
        _app.InjectKey(new Key('x'));
        _keyStep = TimeSpan.FromMilliseconds(1);
        foreach (var key in "y\rz\r".Select(c => c == '\r' ? Key.Enter : new Key(c)))
        {
            _app.InjectKey(key);
        }

        _window.FlushPaste();
        Assert.That(_sent, Is.EqualTo(new[] { "hi one\ntwo\nthree" }), "a paste of several lines is not sent by its own last newline");
        Assert.That(_window.Input.Text, Is.EqualTo("xy\u21B5z"), "it waits in the input to be read over");
        Assert.That(Screen(), Does.Contain("pasted: read it over, Enter sends it"));
        _keyStep = TimeSpan.FromMilliseconds(150);
        _app.InjectKey(Key.Enter);
        Assert.That(_sent, Is.EqualTo(new[] { "hi one\ntwo\nthree", "xy\nz" }));

        _keyStep = TimeSpan.FromMilliseconds(1);
        foreach (var key in "one line\r".Select(c => c == '\r' ? Key.Enter : new Key(c)))
        {
            _app.InjectKey(key);
        }

        _window.FlushPaste();
        Assert.That(_sent[^1], Is.EqualTo("one line"), "one line ending in Enter, typed fast (a script, keys queued while busy), is sent");
        Assert.That(_window.Input.Text, Is.Empty);
    }

    /// <summary>The attribute drawn where <paramref name="text"/> first shows on screen.</summary>
    private Terminal.Gui.Drawing.Attribute AttributeAt(string text)
    {
        var rows = Screen().Split('\n');
        for (var y = 0; y < rows.Length; y++)
        {
            var x = rows[y].IndexOf(text, StringComparison.Ordinal);
            if (x >= 0)
            {
                return _app.Driver!.Contents![y, x].Attribute!.Value;
            }
        }

        throw new AssertionException($"'{text}' is not on screen");
    }

    [Test]
    public void Own_messages_are_in_the_normal_colour_names_have_colours_and_a_mention_of_me_stands_out_with_a_bell()
    {
        Apply(new ReadyEvent("ops", ["amy", "bo"]), Message("ops", "amy", "mine here", 1, own: true), Message("ops", "bo", "plain words", 2));
        var normal = AttributeAt("plain words");
        var own = AttributeAt("mine here");
        Assert.That(own.Foreground, Is.EqualTo(normal.Foreground), "my text reads like anyone's: no dim grey");
        Assert.That(own.Style.HasFlag(Terminal.Gui.Drawing.TextStyle.Italic) || own.Style.HasFlag(Terminal.Gui.Drawing.TextStyle.Faint), Is.False);
        Assert.That(AttributeAt("» amy").Style.HasFlag(Terminal.Gui.Drawing.TextStyle.Bold), Is.True, "mine marked », bold");
        Assert.That(AttributeAt("bo:").Foreground, Is.Not.EqualTo(normal.Foreground), "bo's name in its colour");
        Assert.That(MessageLayout.NickColour("bo"), Is.EqualTo(MessageLayout.NickColour("bo")).And.Not.EqualTo(MessageLayout.NickColour("cy")), "stable, and two names apart");
        Assert.That(_window.Rang, Is.Zero);

        Apply(Message("ops", "bo", "hey @amy, look", 3));
        Assert.That(AttributeAt("@amy").Style.HasFlag(Terminal.Gui.Drawing.TextStyle.Reverse), Is.True, "the mention highlighted");
        Assert.That(AttributeAt(", look").Style.HasFlag(Terminal.Gui.Drawing.TextStyle.Reverse), Is.False, "only the name");
        Assert.That(_window.Rang, Is.EqualTo(1), "the bell rang once");

        Apply(new ReadyEvent("dev", ["amy", "cy"]), Message("dev", "cy", "amy: can you?", 4), Message("dev", "cy", "or anyone", 5));
        Assert.That(Screen(), Does.Contain(" 2 dev @1 (2)"), "two new in dev, one of them for me, counted apart");
        Assert.That(_window.Rang, Is.EqualTo(2));
        Apply(Message("dev", "cy", "amyra is not amy.", 6));
        Assert.That(_window.Rang, Is.EqualTo(3), "'amy.' names me");
        Apply(Message("dev", "cy", "amyra and tamy", 7));
        Assert.That(_window.Rang, Is.EqualTo(3), "amyra and tamy do not");
    }

    [Test]
    public void A_read_marker_shows_where_I_left_a_group_and_me_is_an_action()
    {
        Apply(new ReadyEvent("ops", ["amy", "bo"]), Message("ops", "bo", "seen before", 1));
        _app.InjectKey(Key.D2.WithAlt);
        Apply(Message("ops", "bo", "while away", 2), Message("ops", "bo", "/me waves", 3));
        _app.InjectKey(Key.D1.WithAlt);
        var rows = Screen().Split('\n').Select(r => r.Trim('│', ' ')).ToList();
        var marker = rows.FindIndex(r => r.Contains(MessageLayout.MarkerLabel.Trim()));
        Assert.That(marker, Is.GreaterThan(0), "the read marker");
        Assert.That(rows[marker - 1], Does.Contain("seen before"));
        Assert.That(rows[marker + 1], Does.Contain("bo: while away"));
        Assert.That(rows[marker + 2], Does.Contain("12:03 * bo waves"), "an action");

        Type("/me nods");
        Assert.That(_sent[^1], Is.EqualTo("/me nods"), "sent as a message the others show as an action");
        Apply(Message("ops", "amy", "/me nods", 4, own: true));
        Assert.That(Screen(), Does.Contain("12:04 » * amy nods"));
        _app.InjectKey(Key.D2.WithAlt);
        _app.InjectKey(Key.D1.WithAlt);
        Assert.That(Screen(), Does.Not.Contain(MessageLayout.MarkerLabel.Trim()), "nothing new since: no marker");
    }

    [Test]
    public void Search_finds_a_message_far_back_in_a_long_history_and_Ctrl_R_steps_to_older_ones()
    {
        var lines = Enumerable.Range(0, 3000).Select(i => Message("ops", "bo", i is 10 or 1500 or 2990 ? $"the needle {i}" : $"hay {i}")).ToList();
        Apply([new ReadyEvent("ops", ["amy", "bo"]), .. lines]);
        Type("/search NEEDLE");
        var screen = Screen();
        Assert.That(_model.Current!.Lines[^1].Text, Does.StartWith("3 of 3,000 messages in ops match 'NEEDLE'"), "said below, where End goes");
        Assert.That(screen, Does.Contain("match 3 of 3"));
        Assert.That(AttributeAt("the needle 2990").Style.HasFlag(Terminal.Gui.Drawing.TextStyle.Reverse), Is.True, "the newest match shown lit");

        _app.InjectKey(Key.R.WithCtrl);
        screen = Screen();
        Assert.That(screen, Does.Contain("the needle 1500").And.Contain("match 2 of 3"));
        Assert.That(screen, Does.Not.Contain("hay 2999"), "scrolled back to it");
        _app.InjectKey(Key.R.WithCtrl);
        Assert.That(Screen(), Does.Contain("the needle 10").And.Contain("match 1 of 3"));
        _app.InjectKey(Key.Enter);
        screen = Screen();
        Assert.That(screen, Does.Contain("the needle 10"), "Enter stays where the search went");
        Assert.That(_window.Input.Text, Is.Empty);
        Assert.That(_sent.Where(l => l.Contains("needle", StringComparison.OrdinalIgnoreCase)), Is.Empty, "a search is not sent");

        foreach (var c in "draft")
        {
            _app.InjectKey(new Key(c));
        }

        _app.InjectKey(Key.R.WithCtrl);
        foreach (var c in "hay 2")
        {
            _app.InjectKey(new Key(c));
        }

        Assert.That(Screen(), Does.Contain("match"));
        _app.InjectKey(Key.Esc);
        screen = Screen();
        Assert.That(screen, Does.Contain("hay 2999"), "Esc goes back to the newest");
        Assert.That(_window.Input.Text, Is.EqualTo("draft"), "what was typed before comes back");
    }

    [Test]
    public void The_mouse_wheel_scrolls_and_a_click_on_a_group_shows_it_keeping_the_input_focused()
    {
        Apply([new ReadyEvent("ops", ["amy"]), .. Enumerable.Range(0, 100).Select(i => Message("ops", "bo", $"line {i:D3}"))]);
        Screen();
        _app.InjectMouse(new Mouse { ScreenPosition = new System.Drawing.Point(50, 10), Flags = MouseFlags.WheeledUp });
        Assert.That(_window.Messages.ScrollBack, Is.EqualTo(3));
        _app.InjectMouse(new Mouse { ScreenPosition = new System.Drawing.Point(50, 10), Flags = MouseFlags.WheeledDown });
        Assert.That(_window.Messages.ScrollBack, Is.Zero);

        var rows = Screen().Split('\n');
        var y = Array.FindIndex(rows, r => r.Contains(" 2 dev"));
        var x = rows[y].IndexOf(" 2 dev", StringComparison.Ordinal) + 2;
        foreach (var e in InputInjectionExtensions.LeftButtonClick(new System.Drawing.Point(x, y)))
        {
            _app.InjectSequence(e);
        }

        Assert.That(_model.Current!.Name, Is.EqualTo("dev"));
        Assert.That(_window.Input.HasFocus, Is.True);
        Assert.That(_sent, Is.EqualTo(new[] { "/switch dev" }));
    }

    [TestCase(80)]
    [TestCase(50)]
    public void Below_100_columns_the_side_panels_fold_away_and_F2_shows_them(int width)
    {
        _app.Driver!.SetScreenSize(width, 24);
        Apply(new ReadyEvent("ops", ["amy", "bo"]), new ReadyEvent("dev", ["amy", "cy"]), Message("dev", "cy", "amy: there?", 1),
            Message("ops", "bo", "a message long enough to show how wide the message pane is on this screen", 2));
        var screen = Screen();
        var rows = screen.Split('\n');
        Assert.That(screen, Does.Not.Contain("Groups").And.Not.Contain("Members"), "folded");
        Assert.That(screen, Does.Contain("ops | dev @1 (1) | F2 panels"), "the other groups' news in the title");
        var text = rows.First(r => r.Contains("12:02 bo:"));
        Assert.That(text.IndexOf("12:02", StringComparison.Ordinal), Is.EqualTo(2), "the messages start at the left");
        Assert.That(rows.Count(r => r.Contains("12:02 bo:") || (r.StartsWith("││      ", StringComparison.Ordinal) && r.Trim('│', ' ').Length > 0)), Is.LessThanOrEqualTo(width >= 80 ? 2 : 3),
            $"the message takes few rows: the pane is {width - 4} columns");
        Assert.That(screen, Does.Contain("amy [1111] | ops"), "the short fingerprint on a narrow status bar");

        _app.InjectKey(Key.F2);
        screen = Screen();
        Assert.That(screen, Does.Contain("Groups").And.Contain("Members"), "F2 shows them");
        if (width < ChatWindow.PanelsBesideWidth)
        {
            Assert.That(screen, Does.Not.Contain("12:02 bo:"), "too narrow for three panes: the panels show in place of the messages");
            Assert.That(screen, Does.Contain("● bo"), "the members, readable");
            Assert.That(screen, Does.Contain("| etcd ok |"), "a compact status bar");
        }
        else
        {
            Assert.That(screen, Does.Contain("12:02 bo:"), "room for the panels beside the messages");
        }

        _app.InjectKey(Key.F2);
        Assert.That(Screen(), Does.Not.Contain("Groups"));
        Assert.That(Screen().Split('\n').All(r => r.Length == 0 || Terminal.Gui.Text.StringExtensions.GetColumns(r) == width), Is.True);
    }

    [Test]
    public void F3_shows_bare_lines_without_borders_or_panels_and_gives_the_mouse_to_the_terminal_and_back()
    {
        Apply(new ReadyEvent("ops", ["amy", "bo"]), Message("ops", "bo", "see https://example.org/a/long/path?q=1 for it", 2));
        Assert.That(Screen(), Does.Contain("│"));
        _app.InjectKey(Key.F3);
        var screen = Screen();
        Assert.That(_window.Plain, Is.True);
        Assert.That(_app.Mouse.IsMouseDisabled, Is.True, "the terminal's own selection works");
        Assert.That(screen, Does.Not.Contain("│").And.Not.Contain("─┤").And.Not.Contain("Members"), "no border, no panel");
        var row = screen.Split('\n').First(r => r.Contains("bo: see"));
        Assert.That(row, Does.StartWith("12:02 bo: see https://example.org/a/long/path?q=1 for it"), "the line starts at the terminal's first column");
        Type("still typing works");
        Assert.That(_sent[^1], Is.EqualTo("still typing works"));
        _app.InjectKey(Key.F3);
        Assert.That(_app.Mouse.IsMouseDisabled, Is.False);
        Assert.That(Screen(), Does.Contain("Members"));
    }

    [Test]
    public void The_member_pane_and_members_show_each_link_and_its_round_trip()
    {
        _model = new ChatModel("amy", "1111:2222:3333:4444:5555") { PeerId = "p-amy" };
        Close();
        (_app, var resolved) = AltKeys.CreateApplication(new VirtualTimeProvider());
        Assert.That(resolved, Is.True, "Alt+key is read by Mesh's input processor");
        _app.Init(DriverRegistry.Names.ANSI);
        _app.Driver!.SetScreenSize(100, 24);
        _window = new ChatWindow(_model, (line, group) => { _sent.Add(line); _sentTo.Add(group); }, () => _quits++, () => Noon, () => _keyTime += _keyStep);
        _window.Attach(_app);
        _token = _app.Begin(_window);
        Apply(new ReadyEvent("ops", ["amy", "bo", "cy"], [new MemberId("amy", "p-amy"), new MemberId("bo", "p-bo"), new MemberId("cy", "p-cy"), new MemberId("di", "p-di")]),
            new MemberEvent("ops", "di", "p-di", false, MemberEvent.Exited),
            new LinkHealthEvent([new("p-bo", "up", TimeSpan.FromMicroseconds(310)), new("p-cy", "reconnecting", null), new("p-di", "not linked", null)]));
        var screen = Screen();
        Assert.That(screen, Does.Contain("● bo        0.3 ms"), "bo's link up, its round trip");
        Assert.That(screen, Does.Contain("◐ cy  reconnecting"), "cy online, its link not up");
        Assert.That(screen, Does.Contain("○ di").And.Not.Contain("not linked"), "di offline: no link to speak of");
        Type("/members");
        Assert.That(_model.Current!.Lines[^1].Text, Is.EqualTo("3 online in ops: amy (you), bo (0.3 ms), cy (reconnecting)"));
        Apply(new LinkHealthEvent([new("p-bo", "up", null), new("p-cy", "reconnecting", null)]));
        Assert.That(Screen(), Does.Contain("● bo            up"), "up before its first round trip: still a full dot");
    }

    [Test]
    public void Admission_after_waiting_is_said_and_etcd_reconnected_gives_way_after_a_while()
    {
        Apply(new WaitingEvent("ops", "waiting for a member of 'ops' to admit you"), new ReadyEvent("ops", ["amy", "bo"]));
        Assert.That(Screen(), Does.Contain("admitted to ops: history loaded, you can write"));
        _model.Apply(new ConnectionEvent("etcd", ConnectionState.Reconnected), Noon);
        Assert.That(_model.StatusLine(), Does.Contain("etcd reconnected"));
        Assert.That(_model.Expire(Noon.AddSeconds(9)), Is.False);
        Assert.That(_model.Expire(Noon.AddSeconds(10)), Is.True);
        Assert.That(_model.StatusLine(), Does.Contain("| etcd connected |"));
    }
}
