using Mesh.Peer.Ui;

namespace Mesh.UnitTests.Ui;

[Category("Unit")]
public sealed class MentionsTests
{
    [TestCase("hey @amy, look", 4, 4)]
    [TestCase("Amy: can you?", 0, 3)]
    [TestCase("thanks amy.", 7, 3)]
    [TestCase("amy-", 0, 3)]
    public void The_name_as_a_word_any_case_with_its_at_sign(string text, int start, int length) =>
        Assert.That(Mentions.Find(text, "amy"), Is.EqualTo(new List<(int, int)> { (start, length) }));

    [TestCase("amyra")]
    [TestCase("tamy")]
    [TestCase("amy.b is someone else")]
    [TestCase("bo-amy too")]
    [TestCase("")]
    public void Not_part_of_another_name(string text) => Assert.That(Mentions.Find(text, "amy"), Is.Empty);

    [Test]
    public void A_text_full_of_the_name_costs_a_bounded_list()
    {
        var text = string.Join(' ', Enumerable.Repeat("amy", 10_000));
        Assert.That(Mentions.Find(text, "amy"), Has.Count.EqualTo(64));
    }

    [Test]
    public void A_mention_is_its_own_span_in_the_layout()
    {
        var line = new ChatLine(DateTimeOffset.UnixEpoch, "bo", "hi @amy!", ChatLineKind.Message) { Mentions = Mentions.Find("hi @amy!", "amy") };
        var row = MessageLayout.Rows([line], 40, TimeZoneInfo.Utc)[^1];
        Assert.That(row.Text, Is.EqualTo("00:00 bo: hi @amy!"));
        Assert.That(row.Spans.Select(s => (s.Text, s.Style)), Is.EqualTo(new[]
        {
            ("00:00", MessageLayout.Style.Time), (" ", MessageLayout.Style.Plain), ("bo", MessageLayout.Style.Nick),
            (": hi ", MessageLayout.Style.Plain), ("@amy", MessageLayout.Style.Mention), ("!", MessageLayout.Style.Plain),
        }));
    }
}
