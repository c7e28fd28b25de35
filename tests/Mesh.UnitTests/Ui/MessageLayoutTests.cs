using Mesh.Peer.Ui;
using Terminal.Gui.Text;

namespace Mesh.UnitTests.Ui;

[Category("Unit")]
public sealed class MessageLayoutTests
{
    private static readonly DateTimeOffset Day1 = new(2026, 11, 24, 23, 58, 0, TimeSpan.Zero);

    private static List<MessageLayout.Row> Rows(int width, params ChatLine[] lines) => MessageLayout.Rows(lines, width, TimeZoneInfo.Utc);

    [Test]
    public void A_date_row_starts_each_day()
    {
        var rows = Rows(40,
            new ChatLine(Day1, "bo", "late", ChatLineKind.Message),
            new ChatLine(Day1.AddMinutes(1), "bo", "later", ChatLineKind.Message),
            new ChatLine(Day1.AddMinutes(3), "bo", "next day", ChatLineKind.Message));
        Assert.That(rows.Select(r => r.Text), Has.Exactly(1).Contains("Tue 24 Nov 2026"));
        Assert.That(rows.Select(r => r.Text), Has.Exactly(1).Contains("Wed 25 Nov 2026"));
        Assert.That(rows[^1].Text, Is.EqualTo("00:01 bo: next day"));
    }

    [TestCase("日本語のテキストをたくさん書いてみると折り返しが必要になります")]
    [TestCase("🌍🌎🌏🌍🌎🌏🌍🌎🌏🌍🌎🌏🌍🌎🌏🌍🌎🌏🌍🌎🌏")]
    [TestCase("plain words that are long enough to need wrapping at this width")]
    public void No_row_is_wider_than_the_view(string text)
    {
        var rows = Rows(24, new ChatLine(Day1, "bo", text, ChatLineKind.Message));
        Assert.That(rows.Count, Is.GreaterThan(2), "it wrapped");
        foreach (var row in rows)
        {
            Assert.That(row.Text.GetColumns(), Is.LessThanOrEqualTo(24), row.Text);
        }

        var shown = string.Concat(rows.Skip(1).Select(r => r.Text)).Replace(" ", "");
        Assert.That(shown, Does.Contain(text.Replace(" ", "")[^4..]), "nothing lost at the end");
    }

    [Test]
    public void Combining_marks_stay_with_their_base_character()
    {
        var text = string.Concat(Enumerable.Repeat("e\u0301", 30));
        var rows = Rows(16, new ChatLine(Day1, "bo", text, ChatLineKind.Message));
        foreach (var row in rows.Skip(1))
        {
            Assert.That(row.Text.TrimStart().StartsWith('\u0301'), Is.False, "no row starts with a lone combining mark");
        }
    }

    [Test]
    public void Control_characters_cannot_reach_the_terminal()
    {
        var rows = Rows(60, new ChatLine(Day1, "bo", "bell\u0007 and escape\u001b[2J", ChatLineKind.Message));
        Assert.That(rows.All(r => !r.Text.Any(char.IsControl)), Is.True);
    }

    [Test]
    public void The_tail_of_a_long_history_is_exactly_the_end_of_its_full_layout()
    {
        var lines = Enumerable.Range(0, 3000)
            .Select(i => new ChatLine(Day1.AddMinutes(i), "bo", $"message {i} " + new string('x', i % 70), ChatLineKind.Message))
            .ToList();
        var all = MessageLayout.Rows(lines, 50, TimeZoneInfo.Utc);
        foreach (var count in new[] { 1, 24, 500, all.Count, all.Count + 10 })
        {
            var tail = MessageLayout.Tail(lines, 50, TimeZoneInfo.Utc, count);
            Assert.That(tail, Is.EqualTo(all.TakeLast(count).ToList()), $"last {count} rows");
        }
    }

    [Test]
    public void Own_messages_are_marked_and_kept_apart()
    {
        var rows = Rows(40, new ChatLine(Day1, "amy", "mine", ChatLineKind.Own));
        Assert.That(rows[^1].Text, Is.EqualTo("23:58 » amy: mine"));
        Assert.That(rows[^1].Kind, Is.EqualTo(ChatLineKind.Own));
    }

    [Test]
    public void Continuation_rows_start_under_the_text_so_pasted_code_keeps_its_indentation()
    {
        var rows = Rows(80, new ChatLine(Day1, "bo", "if (x)\n    y();\nend", ChatLineKind.Message));
        var texts = rows.Skip(1).Select(r => r.Text).ToList();
        Assert.That(texts, Is.EqualTo(new[] { "23:58 bo: if (x)", "              y();", "          end" }));
    }

    [Test]
    public void A_url_that_fits_a_row_is_never_cut_by_the_wrap_and_every_piece_of_a_long_one_links_to_all_of_it()
    {
        const string url = "https://wiki.example/page/Some_Article_(topic)";
        var rows = Rows(60, new ChatLine(Day1, "bo", $"read this, the details are at {url}, thanks", ChatLineKind.Message));
        Assert.That(rows.Any(r => r.Text.Contains(url)), Is.True, "the whole URL on one row: " + string.Join(" | ", rows.Select(r => r.Text)));
        Assert.That(rows.SelectMany(r => r.Spans).Where(s => s.Url is not null).Select(s => s.Url).Distinct(), Is.EqualTo(new[] { url }),
            "the link ends before the comma");

        var longUrl = "https://example.org/" + new string('a', 120);
        var longRows = Rows(60, new ChatLine(Day1, "bo", longUrl, ChatLineKind.Message));
        var linked = longRows.SelectMany(r => r.Spans).Where(s => s.Url is not null).ToList();
        Assert.That(linked.Count, Is.GreaterThan(1), "a URL longer than a row takes several");
        Assert.That(linked.All(s => s.Url == longUrl), Is.True, "each piece links to the whole URL");
        Assert.That(string.Concat(linked.Select(s => s.Text)), Is.EqualTo(longUrl));
    }

    [Test]
    public void Names_get_many_distinct_colours()
    {
        Assert.That(NickPalette.Colours.Distinct().Count(), Is.EqualTo(MessageLayout.NickColours));
        var colours = new[] { "amy", "bo", "cy" }.Select(MessageLayout.NickColour).ToList();
        Assert.That(colours.Distinct().Count(), Is.EqualTo(3), "the three of a small chat are told apart");
        var many = Enumerable.Range(0, 200).Select(i => MessageLayout.NickColour("user" + i)).Distinct().Count();
        Assert.That(many, Is.EqualTo(MessageLayout.NickColours), "every colour is used");
    }
}
