using Mesh.Peer.Ui;

namespace Mesh.UnitTests.Ui;

[Category("Unit")]
public sealed class PasteBurstTests
{
    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Test]
    public void Keys_closer_than_typing_are_held_and_a_pause_ends_the_paste()
    {
        var burst = new PasteBurst(100);
        Assert.That(burst.Offer("a", Ms(0)), Is.False, "the first key is typing: nothing came before it");
        Assert.That(burst.Offer("b", Ms(1)), Is.True);
        Assert.That(burst.Offer("\n", Ms(2)), Is.True);
        Assert.That(burst.Offer("c", Ms(3)), Is.True);
        Assert.That(burst.Offer("d", Ms(60)), Is.False, "a person's pace again");
        Assert.That(burst.Take(), Is.EqualTo(("b\nc", 0L)));
        Assert.That(burst.Holding, Is.False);
        burst.Interrupt();
        Assert.That(burst.Offer("e", Ms(61)), Is.False, "after a key that is not a character, typing");
    }

    [Test]
    public void A_paste_past_the_bound_is_counted_not_kept()
    {
        var burst = new PasteBurst(3);
        burst.Offer("x", Ms(0));
        for (var i = 1; i <= 10; i++)
        {
            burst.Offer("y", Ms(i));
        }

        var (text, dropped) = burst.Take();
        Assert.That(text, Is.EqualTo("yyy"));
        Assert.That(dropped, Is.EqualTo(7));
    }
}
