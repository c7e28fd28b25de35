using Mesh.Peer.Configuration;
using Mesh.Peer.Session;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.UnitTests.Groups;

[Category("Unit")]
public sealed class RateLimitedWarningsTests
{
    [Test]
    public void A_flood_of_bad_records_costs_a_bounded_number_of_lines()
    {
        var time = new ManualTime();
        var warnings = new RateLimitedWarnings(NullLogger.Instance, time);
        Assert.That(warnings.Warn("a", "x"), Is.True);
        Assert.That(warnings.Warn("a", "x"), Is.False, "one line per kind a minute");
        var written = Enumerable.Range(0, 10_000).Count(i => warnings.Warn($"k{i}", "x"));
        Assert.That(written, Is.EqualTo(RateLimitedWarnings.MaxPerMinute - 1));
        time.Now += TimeSpan.FromMinutes(1);
        Assert.That(warnings.Warn("a", "x"), Is.True);
    }

    [Test]
    public void Durations_take_a_number_and_a_unit_within_bounds()
    {
        Assert.That(Durations.Parse("--ttl", "24h", TimeSpan.FromMinutes(1), TimeSpan.FromDays(30)), Is.EqualTo(TimeSpan.FromHours(24)));
        Assert.That(Durations.Parse("--ttl", "90s", TimeSpan.FromMinutes(1), TimeSpan.FromDays(30)), Is.EqualTo(TimeSpan.FromSeconds(90)));
        foreach (var bad in new[] { "", "h", "24", "-1h", "31d", "10s", "1y", "9999999999d" })
        {
            var e = Assert.Throws<MeshException>(() => Durations.Parse("--ttl", bad, TimeSpan.FromMinutes(1), TimeSpan.FromDays(30)));
            Assert.That(e!.Message, Does.StartWith("--ttl"));
            Assert.That(e.ExitCode, Is.EqualTo(2));
        }
    }
}

internal sealed class ManualTime : TimeProvider
{
    public DateTimeOffset Now { get; set; } = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => Now;

    /// <summary>Monotonic time moves with <see cref="Now"/> here (what the warnings' limits read).</summary>
    public override long GetTimestamp() => Now.UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
}
