using System.Globalization;
using System.Text.Json;

namespace Mesh.IntegrationTests.Faults;

/// <summary>What one view (a live receiver, a restarted sender, a late joiner, <c>mesh history</c>) shows of numbered
/// messages (<c>SENDER-N</c>, N rising in the order sent): how many it shows, misses and shows twice, and how many it
/// shows after a later message of the same sender. Written to the test output and appended to
/// <c>fault-results.jsonl</c> there, as <see cref="FaultReport"/> is.</summary>
public sealed record ViewFigures(string Scenario, string View, int Sent, int Shown, int Missing, int Duplicated, int OutOfOrder)
{
    /// <summary>Counts <paramref name="shown"/> (texts, in the order shown) against <paramref name="sent"/>.</summary>
    public static ViewFigures Of(string scenario, string view, IReadOnlyCollection<string> sent, IReadOnlyList<string> shown)
    {
        var highest = new Dictionary<string, long>(StringComparer.Ordinal);
        var outOfOrder = 0;
        foreach (var text in shown)
        {
            var (sender, n) = Numbered(text);
            if (highest.TryGetValue(sender, out var top) && n < top)
            {
                outOfOrder++;
                continue;
            }

            highest[sender] = n;
        }

        return new ViewFigures(scenario, view, sent.Count, shown.Count, sent.Except(shown).Count(),
            shown.Count - shown.Distinct().Count(), outOfOrder);
    }

    /// <summary>The sender and number of a text <c>SENDER-N</c>.</summary>
    public static (string Sender, long N) Numbered(string text)
    {
        var at = text.LastIndexOf('-');
        return (text[..at], long.Parse(text[(at + 1)..], CultureInfo.InvariantCulture));
    }

    public void Publish()
    {
        TestContext.Out.WriteLine($"{Scenario}, {View}: sent {Sent}, shown {Shown}, missing {Missing}, duplicated {Duplicated}, " +
            $"shown after a later message of its sender {OutOfOrder}");
        File.AppendAllText(Path.Combine(TestContext.CurrentContext.WorkDirectory, "fault-results.jsonl"), JsonSerializer.Serialize(this) + "\n");
    }

    /// <summary>Every message sent shown, once, each sender's in the order sent.</summary>
    public void AssertWhole()
    {
        Assert.That(Missing, Is.Zero, $"{View}: missing");
        Assert.That(Duplicated, Is.Zero, $"{View}: duplicated");
        Assert.That(OutOfOrder, Is.Zero, $"{View}: shown after a later message of its sender");
        Assert.That(Shown, Is.EqualTo(Sent), $"{View}: shown");
    }
}
