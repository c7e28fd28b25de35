using System.Text;
using Mesh.Coordinator.Membership;
using Mesh.Peer.Session;

namespace Mesh.UnitTests.Session;

[Category("Unit")]
public sealed class LinkReportTests
{
    private static LinkStates Report(string[] up, string[] down, Dictionary<string, double>? rtt = null) =>
        new(up, down) { Rtt = rtt };

    [Test]
    public void The_first_report_and_every_change_of_state_are_due_at_once()
    {
        var report = new LinkReport();
        var first = Report(["a"], ["b"], new() { ["a"] = 1.0 });
        Assert.That(report.Due(first, 0), Is.True);
        report.Written(first, 0);
        Assert.That(report.Due(Report(["a"], ["b"], new() { ["a"] = 1.0 }), 1), Is.False, "nothing changed");
        Assert.That(report.Due(Report(["a", "b"], [], new() { ["a"] = 1.0 }), 1), Is.True, "b came up");
    }

    [Test]
    public void A_round_trip_that_moves_by_half_and_5_ms_is_due_only_after_thirty_seconds()
    {
        var report = new LinkReport();
        report.Written(Report(["a"], [], new() { ["a"] = 20.0 }), 0);
        var slower = Report(["a"], [], new() { ["a"] = 31.0 });
        Assert.That(report.Due(slower, 10_000), Is.False, "not twice within 30 s for a round trip");
        Assert.That(report.Due(slower, 30_000), Is.True);
        Assert.That(report.Due(Report(["a"], [], new() { ["a"] = 29.0 }), 30_000), Is.False, "within half: jitter");
        Assert.That(report.Due(Report(["a"], [], new() { ["a"] = 0.3 }), 30_000), Is.True, "a large fall");
        report.Written(Report(["a"], [], new() { ["a"] = 0.3 }), 30_000);
        Assert.That(report.Due(Report(["a"], [], new() { ["a"] = 4.2 }), 90_000), Is.False, "under 5 ms of move is jitter at any ratio");
        Assert.That(report.Due(Report(["a"], []), 90_000), Is.True, "a reading that went");
        report.Written(Report(["a"], []), 90_000);
        Assert.That(report.Due(Report(["a"], [], new() { ["a"] = 1.0 }), 90_001), Is.True, "a first reading at once");
    }

    [Test]
    public void After_a_failed_write_the_next_report_is_due()
    {
        var report = new LinkReport();
        var same = Report(["a"], []);
        report.Written(same, 0);
        report.Forget();
        Assert.That(report.Due(same, 1), Is.True);
    }

    [Test]
    public void Round_trips_survive_the_record_and_nonsense_ones_are_no_reading()
    {
        var bytes = Report(["a", "b"], ["c"], new() { ["a"] = 12.5 }).ToBytes();
        var parsed = LinkStates.TryParse(bytes)!;
        Assert.That(parsed.RttOf("a"), Is.EqualTo(12.5));
        Assert.That(parsed.RttOf("b"), Is.Null);
        var hostile = LinkStates.TryParse(Encoding.UTF8.GetBytes("""{"up":["a","b"],"down":[],"rtt":{"a":-1,"b":1e300}}"""))!;
        Assert.That(hostile.RttOf("a"), Is.Null);
        Assert.That(hostile.RttOf("b"), Is.Null);
        Assert.That(LinkStates.TryParse(Encoding.UTF8.GetBytes("""{"up":["a"],"down":[]}"""))!.RttOf("a"), Is.Null, "an older peer's report");
        Assert.That(LinkStates.TryParse(Encoding.UTF8.GetBytes("""{"up":["a"],"down":[],"rtt":{"a":"x"}}""")), Is.Null, "malformed");
    }
}
