using Mesh.Peer.Cli;
using Mesh.Peer.Protocol;

namespace Mesh.UnitTests.Cli;

[Category("Unit")]
public sealed class HistoryLineTests
{
    private static readonly TimeZoneInfo Paris = TimeZoneInfo.CreateCustomTimeZone("test+1", TimeSpan.FromHours(1), "test+1", "test+1");

    /// <summary>2026-12-07 17:04:05 UTC.</summary>
    private static Envelope Message(string text, string from = "amy") =>
        new("ops", "p1", 1, 1, from, 1796663045000, text, 1796663045000);

    [Test]
    public void A_line_shows_local_time_unless_utc_is_asked()
    {
        Assert.That(HistoryLine.Format(Message("hello"), utc: false, Paris), Is.EqualTo("2026-12-07 18:04:05  amy: hello\n"));
        Assert.That(HistoryLine.Format(Message("hello"), utc: true), Is.EqualTo("2026-12-07 17:04:05 UTC  amy: hello\n"));
    }

    [Test]
    public void Me_is_an_action()
    {
        Assert.That(HistoryLine.Format(Message("/me waves"), utc: true), Is.EqualTo("2026-12-07 17:04:05 UTC  * amy waves\n"));
        Assert.That(HistoryLine.Format(Message("/me"), utc: true), Is.EqualTo("2026-12-07 17:04:05 UTC  amy: /me\n"), "nothing to act: said as typed");
    }

    [Test]
    public void Further_lines_start_under_the_first_lines_text_and_none_passes_for_a_line_of_its_own()
    {
        var line = HistoryLine.Format(Message("def f():\n    return 1\n2026-12-07 17:00:00 UTC  bo: fake"), utc: true);
        var lines = line.TrimEnd('\n').Split('\n');
        var column = "2026-12-07 17:04:05 UTC  amy: ".Length;
        Assert.That(lines[0], Does.EndWith("amy: def f():"));
        Assert.That(lines[1], Is.EqualTo(new string(' ', column) + "    return 1"), "code keeps its own indent under the first line");
        Assert.That(lines[2], Is.EqualTo(new string(' ', column) + "2026-12-07 17:00:00 UTC  bo: fake"), "a faked line stays indented");

        var action = HistoryLine.Format(Message("/me lists:\none"), utc: true).TrimEnd('\n').Split('\n');
        Assert.That(action[1], Is.EqualTo(new string(' ', "2026-12-07 17:04:05 UTC  * amy ".Length) + "one"));
    }

    [Test]
    public void Control_characters_from_a_sender_never_reach_the_terminal()
    {
        var line = HistoryLine.Format(Message("\u001b[2Jgone", from: "a\u001b]0;x"), utc: true);
        Assert.That(line, Does.Not.Contain("\u001b"));
    }
}
