using System.Text.RegularExpressions;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Ui;

/// <summary>The chat screen in a real terminal (tmux): two TUI peers and a headless one chat; history is there on
/// join; etcd going away and coming back shows on the status bar.</summary>
public sealed partial class TerminalTests : EtcdFixture
{
    private readonly List<TmuxTerminal> _terminals = [];
    private string _screens = "";

    [SetUp]
    public void ScreenFolder()
    {
        _screens = Path.Combine(TestContext.CurrentContext.WorkDirectory, "tui-screens");
        Directory.CreateDirectory(_screens);
    }

    [TearDown]
    public void CloseTerminals()
    {
        foreach (var terminal in _terminals)
        {
            Save(terminal, "final");
            terminal.Dispose();
        }

        _terminals.Clear();
    }

    private TmuxTerminal StartTui(string name, string group, int width = 110, string? home = null) => StartTui(name, [group], width, home);

    private TmuxTerminal StartTui(string name, string[] groups, int width = 110, string? home = null)
    {
        home ??= Path.Combine(Path.GetTempPath(), $"mesh-home-{name}-{Guid.NewGuid():N}");
        var terminal = TmuxTerminal.Start(name, ["dotnet", MeshCli.Dll, "join", .. groups, "--name", name, "--etcd", Etcd.Url, "--home", home], width);
        _terminals.Add(terminal);
        return terminal;
    }

    /// <summary>A new group with a headless peer, hal, and a chat screen that is ready and shows hal online.</summary>
    private async Task<(string Group, PeerProcess Hal, TmuxTerminal Screen)> HalAndScreenAsync(string prefix, string name)
    {
        var group = NewGroup(prefix);
        var hal = StartPeer("hal", group);
        await hal.WaitReadyAsync(group);
        var screen = StartTui(name, group);
        await screen.WaitForScreenAsync(s => s.Contains($"| {group} |") && s.Contains("● hal"), Long, "ready with hal online");
        return (group, hal, screen);
    }

    private void Save(TmuxTerminal terminal, string moment)
    {
        var path = Path.Combine(_screens, $"{TestContext.CurrentContext.Test.Name}-{terminal.Name}-{moment}.txt");
        File.WriteAllText(path, terminal.Screen());
        TestContext.AddTestAttachment(path);
    }

    [GeneratedRegex(@"● hal +\d+(\.\d)? m?s")]
    private static partial Regex HalsRoundTrip();

    [GeneratedRegex(@"\d\d:\d\d tina: hello from tina")]
    private static partial Regex TinasLineWithTime();

    [Test]
    public async Task Two_terminal_peers_and_a_headless_one_chat_with_history_and_etcd_status()
    {
        var group = NewGroup("tui");
        var hal = StartPeer("hal", group);
        await hal.WaitReadyAsync(group);
        await hal.SendAsync("said before the screens opened");
        await hal.WaitForAsync(p => p.Messages(group).Count == 1, Long, "own message");

        var tina = StartTui("tina", group);
        var tom = StartTui("tom", group);
        await tina.WaitForScreenAsync(s => s.Contains("said before the screens opened") && s.Contains($"| {group} |"), Long, "history and ready");
        await tom.WaitForScreenAsync(s => s.Contains("said before the screens opened") && s.Contains($"| {group} |"), Long, "history and ready");
        await tina.WaitForScreenAsync(s => s.Contains("● tom") && s.Contains("● hal"), Long, "members online");
        await tina.WaitForScreenAsync(s => HalsRoundTrip().IsMatch(s), Long, "hal's round trip in the member pane");
        Save(tina, "joined");

        tina.Type("hello from tina");
        tina.Press("Enter");
        var seen = await tom.WaitForScreenAsync(s => TinasLineWithTime().IsMatch(s), Long, "tina's message with its time");
        Save(tom, "message");
        Assert.That(seen, Does.Contain("tina: hello from tina"));
        await hal.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "hello from tina"), Long, "headless peer got it");

        await hal.SendAsync("and from the headless one");
        await tina.WaitForScreenAsync(s => s.Contains("hal: and from the headless one"), Long, "headless message");

        Etcd.Kill();
        await tina.WaitForScreenAsync(s => s.Contains("etcd unreachable"), TimeSpan.FromSeconds(30), "etcd unreachable on the status bar");
        Save(tina, "etcd-down");
        await Etcd.StartAsync();
        await tina.WaitForScreenAsync(s => s.Contains("etcd reconnected"), TimeSpan.FromSeconds(60), "etcd reconnected");
        Save(tina, "etcd-back");

        tina.Press("C-c");
        await tina.WaitForScreenAsync(s => s.Contains("Ctrl+C again leaves every group"), Long, "the first Ctrl+C on an empty line asks");
        tina.Press("C-c");
        await hal.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "tina"), Long, "tina left cleanly");
    }

    [Test]
    public async Task A_paste_bracketed_or_not_is_one_message_with_its_line_breaks_and_16_KiB_goes_in_whole()
    {
        var (group, hal, tina) = await HalAndScreenAsync("paste", "tina");

        tina.Paste("first line\nsecond line\n/third is not a command\n", bracketed: true);
        await tina.WaitForScreenAsync(s => s.Contains("input: 3 lines"), Long, "the bracketed paste in the input, three lines");
        Save(tina, "bracketed");
        tina.Press("Enter");
        await hal.WaitForAsync(p => p.Messages(group).Count == 1, Long, "the bracketed paste as one message");
        Assert.That(hal.Messages(group)[0].Str("text"), Is.EqualTo("first line\nsecond line\n/third is not a command"));

        // Unbracketed, the keys come faster than typing: one paste, which its own last newline does not send.
        tina.Paste("plain one\nplain two\n", bracketed: false);
        await tina.WaitForScreenAsync(s => s.Contains("pasted: read it over") && s.Contains("plain one↵plain two"), Long, "the unbracketed paste waiting in the input");
        Assert.That(hal.Messages(group), Has.Count.EqualTo(1), "not sent by its own newline");
        tina.Press("Enter");
        await hal.WaitForAsync(p => p.Messages(group).Count == 2, Long, "the unbracketed paste as one message");
        Assert.That(hal.Messages(group)[1].Str("text"), Is.EqualTo("plain one\nplain two"));

        var big = string.Join("\n", Enumerable.Range(0, 16 * 1024 / 64).Select(i => $"{i:D4} " + new string((char)('a' + i % 26), 58)));
        var took = System.Diagnostics.Stopwatch.StartNew();
        tina.Paste(big, bracketed: true);
        await tina.WaitForScreenAsync(s => s.Contains("input: 256 lines, 16,383 of 16,384 B"), Long, "the 16 KiB paste in the input");
        TestContext.Out.WriteLine($"16 KiB bracketed paste on screen {took.ElapsedMilliseconds} ms after tmux pasted it (capture-pane polling included)");
        Save(tina, "16KiB");
        tina.Press("Enter");
        await hal.WaitForAsync(p => p.Messages(group).Count == 3, Long, "the 16 KiB paste as one message");
        Assert.That(hal.Messages(group)[2].Str("text"), Is.EqualTo(big), "all of it, exactly");
        await hal.SendAsync("marker");
        await tina.WaitForScreenAsync(s => s.Contains("hal: marker"), Long, "the marker after the pastes");
        Assert.That(hal.Messages(group).Count(m => m.Str("from") == "tina"), Is.EqualTo(3), "three pastes, three messages");
    }

    [GeneratedRegex(@"amy#[0-9a-f]{4}")]
    private static partial Regex AmyLabel();

    [Test]
    public async Task Two_homes_named_amy_are_two_people_one_leaving_leaves_the_other_in_the_group_and_online()
    {
        var (group, hal, amy) = await HalAndScreenAsync("twins", "amy");
        var other = StartPeer("amy", group);
        await other.WaitReadyAsync(group);

        var both = await amy.WaitForScreenAsync(s => AmyLabel().Matches(s).Select(m => m.Value).Distinct().Count() == 2, Long,
            "two amys told apart by their fingerprints");
        Save(amy, "two-amys");
        var labels = AmyLabel().Matches(both).Select(m => m.Value).Distinct().ToList();
        Assert.That(labels, Has.Count.EqualTo(2), "amy#xxxx twice in the member pane");

        Assert.That(await other.CloseAsync(), Is.Zero, "the other amy leaves cleanly");
        await hal.WaitForAsync(p => p.Of("left", group).Any(e => (e.Str("name") ?? "").StartsWith("amy", StringComparison.Ordinal)), Long, "hal sees one amy go");
        amy.Type("/members");
        amy.Press("Enter");
        var after = await amy.WaitForScreenAsync(s => s.Contains($"2 online in {group}"), Long, "amy herself and hal still online");
        Save(amy, "after-leave");
        Assert.That(after, Does.Contain($"| {group} |"), "the group is still amy's and shown");
        Assert.That(after, Does.Not.Contain($"left {group}"), "amy's screen does not say she left");
        Assert.That(OnlineNames(hal, group).Count(n => n.StartsWith("amy", StringComparison.Ordinal)), Is.EqualTo(1), "hal still sees one amy online");
    }

    [Test]
    public async Task Emoji_sequences_and_flags_leave_every_border_where_it_belongs()
    {
        var (group, hal, tina) = await HalAndScreenAsync("emoji", "tina");
        await hal.SendAsync("family \U0001F468\u200D\U0001F469\u200D\U0001F467 flag \U0001F1E9\U0001F1EA wave \U0001F44B\U0001F3FD end");
        var screen = await tina.WaitForScreenAsync(s => s.Contains("end"), Long, "the emoji message");
        Save(tina, "emoji");
        var rows = screen.Split('\n').Where(r => r.Length > 0).ToList();
        var family = rows.First(r => r.Contains("family"));
        Assert.That(family, Does.Contain("\U0001F468\U0001F469\U0001F467").And.Contain("\U0001F1E9\U0001F1EA").And.Contain("\U0001F44B"),
            "the people side by side, the flag, the hand");
        Assert.That(family.TrimEnd().EndsWith('│'), Is.True, "the right border on the emoji row: " + family);
        Assert.That(family.Count(c => c == '│'), Is.EqualTo(8), "every border on the emoji row: the window's and the three panes'");
        Assert.That(Terminal.Gui.Text.StringExtensions.GetColumns(family), Is.EqualTo(Terminal.Gui.Text.StringExtensions.GetColumns(rows[0])),
            "as wide as the screen");
    }

    [Test]
    public async Task At_80_and_50_columns_the_messages_get_the_width_and_my_messages_keep_their_mark_after_a_restart()
    {
        var group = NewGroup("narrow");
        var hal = StartPeer("hal", group);
        await hal.WaitReadyAsync(group);
        var home = Path.Combine(Path.GetTempPath(), $"mesh-home-tina-{Guid.NewGuid():N}");
        var tina = StartTui("tina", group, width: 80, home: home);
        var tom = StartTui("tom", group, width: 50);
        await tina.WaitForScreenAsync(s => s.Contains("| F2") && !s.Contains("Members") && s.Contains("tina ["), Long, "folded panels at 80 columns");
        await tom.WaitForScreenAsync(s => s.Contains("| F2") && !s.Contains("Members") && s.Contains("tom ["), Long, "folded panels at 50 columns");
        await hal.WaitForAsync(p => OnlineNames(p, group).IsSupersetOf(["tina", "tom"]), Long, "both screens admitted and online");

        var words = "a message from hal that is long enough to wrap on a narrow screen but not by much";
        await hal.SendAsync(words);
        var wide = await tina.WaitForScreenAsync(s => s.Contains("hal: a message"), Long, "hal's message at 80");
        var narrow = await tom.WaitForScreenAsync(s => s.Contains("hal: a message"), Long, "hal's message at 50");
        Save(tina, "80");
        Save(tom, "50");
        foreach (var (screen, width) in new[] { (wide, 80), (narrow, 50) })
        {
            var rows = screen.Split('\n');
            var first = Array.FindIndex(rows, r => r.Contains("hal: a message"));
            Assert.That(rows[first].IndexOf(':') - 2, Is.EqualTo(2), $"at {width} the message starts at the pane's left edge");
            var shown = string.Join(" ", rows.Skip(first).Take(3).Select(r => r.Trim('│', ' ')));
            Assert.That(shown, Does.Contain("not by much"), $"at {width} the whole message in at most 3 rows");
            Assert.That(rows.Where(r => r.Length > 0).All(r => Terminal.Gui.Text.StringExtensions.GetColumns(r) == width), Is.True, $"every row {width} wide");
        }

        tom.Press("F2");
        await tom.WaitForScreenAsync(s => s.Contains("Groups") && s.Contains("Members"), Long, "F2 shows the panels");

        tina.Type("mine before the restart");
        tina.Press("Enter");
        await hal.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "mine before the restart"), Long, "tina's message");
        tina.Press("C-c");
        tina.Press("C-c");
        await hal.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "tina"), Long, "tina left");
        await tina.WaitForExitAsync(Long);
        var again = StartTui("tina", group, width: 80, home: home);
        var after = await again.WaitForScreenAsync(s => s.Contains("mine before the restart"), Long, "tina's history after the restart");
        Save(again, "restarted");
        Assert.That(after, Does.Contain("» tina: mine before the restart"), "my own message still marked mine");
    }
}
