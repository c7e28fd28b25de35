using Mesh.Peer.Ui;

namespace Mesh.UnitTests.Ui;

/// <summary>The input line's readline keys, history and completion, without a screen.</summary>
[Category("Unit")]
public sealed class InputLineTests
{
    [Test]
    public void Up_walks_back_through_what_was_sent_and_down_comes_back_to_the_draft()
    {
        var input = new InputLine();
        Assert.That(input.Older("draft"), Is.Null, "nothing sent yet");
        foreach (var line in new[] { "one", "two", "two", "three" })
        {
            input.Sent(line);
        }

        Assert.That(input.History, Is.EqualTo(new[] { "one", "two", "three" }), "the same line twice in a row is kept once");
        Assert.That(input.Older("half typed"), Is.EqualTo("three"));
        Assert.That(input.Older("three"), Is.EqualTo("two"));
        Assert.That(input.Older("two"), Is.EqualTo("one"));
        Assert.That(input.Older("one"), Is.Null, "at the oldest");
        Assert.That(input.Newer(), Is.EqualTo("two"));
        Assert.That(input.Newer(), Is.EqualTo("three"));
        Assert.That(input.Newer(), Is.EqualTo("half typed"), "the draft comes back");
        Assert.That(input.Newer(), Is.Null, "not browsing any more");
    }

    [Test]
    public void The_history_keeps_the_newest_lines_only()
    {
        var input = new InputLine();
        for (var i = 0; i < InputLine.HistoryCapacity + 10; i++)
        {
            input.Sent($"line {i}");
        }

        Assert.That(input.History, Has.Count.EqualTo(InputLine.HistoryCapacity));
        Assert.That(input.History[0], Is.EqualTo("line 10"));
    }

    [Test]
    public void Ctrl_u_w_and_k_cut_before_the_cursor_the_word_before_it_and_after_it()
    {
        Assert.That(InputLine.KillToStart("hello big world", 6), Is.EqualTo(("big world", 0)));
        Assert.That(InputLine.KillToEnd("hello big world", 6), Is.EqualTo(("hello ", 6)));
        Assert.That(InputLine.KillWord("hello big world", 10), Is.EqualTo(("hello world", 6)));
        Assert.That(InputLine.KillWord("hello big   ", 12), Is.EqualTo(("hello ", 6)), "trailing spaces go with the word");
        Assert.That(InputLine.KillWord("", 0), Is.EqualTo(("", 0)));
        // A flag and a ZWJ family are one element each: a cut never splits them.
        Assert.That(InputLine.KillToEnd("🇫🇷👨‍👩‍👧x", 2), Is.EqualTo(("🇫🇷👨‍👩‍👧", 2)));
    }

    [Test]
    public void Tab_completes_a_command_at_the_start_and_a_name_anywhere()
    {
        string[] names = ["bo", "bea", "cy"];
        static (string, int) At((string Text, int Cursor, IReadOnlyList<string> Candidates) r) => (r.Text, r.Cursor);
        Assert.That(At(InputLine.Complete("/jo", 3, names)), Is.EqualTo(("/join ", 6)));
        Assert.That(At(InputLine.Complete("c", 1, names)), Is.EqualTo(("cy: ", 4)), "a name starting the line is addressed");
        Assert.That(At(InputLine.Complete("hi c", 4, names)), Is.EqualTo(("hi cy ", 6)));
        var (text, cursor, candidates) = InputLine.Complete("hi b", 4, names);
        Assert.That((text, cursor), Is.EqualTo(("hi b", 4)), "bo and bea agree on b only");
        Assert.That(candidates, Is.EqualTo(new[] { "bea", "bo" }));
        Assert.That(At(InputLine.Complete("hi x", 4, names)), Is.EqualTo(("hi x", 4)));
        Assert.That(InputLine.Complete("hi x", 4, names).Candidates, Is.Empty);
        Assert.That(InputLine.Complete("", 0, names).Candidates, Is.Empty, "nothing typed, nothing offered");
        Assert.That(InputLine.Complete("/rem", 4, names).Text, Is.EqualTo("/remove "));
    }

    [Test]
    public void A_paste_keeps_its_line_breaks_drops_controls_and_counts_bytes_as_sent()
    {
        var (text, cursor) = InputLine.Paste("ab", 1, "x\ry\u0007\tz\r\n\n", 100)!.Value;
        Assert.That(text, Is.EqualTo("ax\u21B5y    zb"), "CR a break, the bell dropped, a tab four spaces, trailing breaks gone");
        Assert.That(cursor, Is.EqualTo(1 + 8));
        Assert.That(InputLine.ToLine(text), Is.EqualTo("ax\ny    zb"));
        Assert.That(InputLine.MessageBytes(text), Is.EqualTo(InputLine.ToLine(text).Length), "a break counts as the one byte it is sent as");
        Assert.That(InputLine.Lines(text), Is.EqualTo(2));
        Assert.That(InputLine.Paste("ab", 2, "cd", 3), Is.Null, "over the limit nothing goes in");
        Assert.That(InputLine.ToLine("/join x"), Is.EqualTo("/join x"), "one line stays a command");
    }
}
