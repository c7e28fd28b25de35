using Mesh.Coordinator.Etcd;

namespace Mesh.UnitTests.Coordinator;

[Category("Unit")]
public sealed class PageLimitTests
{
    [Test]
    public void A_page_starts_at_the_most_keys_and_stays_there_while_answers_are_small()
    {
        var limit = new PageLimit(5000);
        limit.Answered(5000, 5000 * 300);
        Assert.That(limit.Current, Is.EqualTo(5000));
    }

    [Test]
    public void An_answer_over_the_limit_halves_the_page_down_to_one_key_and_no_further()
    {
        var limit = new PageLimit(5000);
        var sizes = new List<int>();
        while (limit.Shrink())
        {
            sizes.Add(limit.Current);
        }

        Assert.That(sizes, Is.EqualTo(new[] { 2500, 1250, 625, 312, 156, 78, 39, 19, 9, 4, 2, 1 }));
        Assert.That(limit.Shrink(), Is.False, "one key cannot shrink");
        Assert.That(limit.Current, Is.EqualTo(1));
    }

    [Test]
    public void Large_values_shrink_the_next_page_to_the_byte_target_at_once()
    {
        var limit = new PageLimit(5000, targetBytes: 8 * 1024 * 1024);
        limit.Answered(39, 39L * 1_400_000);
        Assert.That(limit.Current, Is.EqualTo(5), "8 MiB of 1.4 MB values");
        Assert.That(limit.Current * 1_400_000L, Is.LessThanOrEqualTo(limit.TargetBytes));
    }

    [Test]
    public void After_large_values_small_ones_grow_the_page_back_at_most_twofold_a_page()
    {
        var limit = new PageLimit(5000);
        limit.Answered(10, 10L * 1_400_000);
        var sizes = new List<int> { limit.Current };
        for (var i = 0; i < 12; i++)
        {
            limit.Answered(limit.Current, limit.Current * 200L);
            sizes.Add(limit.Current);
        }

        Assert.That(sizes, Is.EqualTo(new[] { 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5000, 5000, 5000 }));
    }

    [Test]
    public void A_page_is_never_less_than_one_key_whatever_one_value_weighs()
    {
        var limit = new PageLimit(128, targetBytes: 1024);
        limit.Answered(1, 10_000_000);
        Assert.That(limit.Current, Is.EqualTo(1));
        limit.Answered(0, 0);
        Assert.That(limit.Current, Is.EqualTo(1), "an empty answer says nothing");
    }
}
