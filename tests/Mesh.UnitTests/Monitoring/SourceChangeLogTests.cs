using Mesh.Monitoring.Watcher;
using Mesh.UnitTests.Groups;
using Microsoft.Extensions.Logging;

namespace Mesh.UnitTests.Monitoring;

/// <summary>mesh monitor's log of its sources: one line when a source is lost, one when it is back, whatever the
/// requests in between did; on a clock the test moves.</summary>
[Category("Unit")]
public sealed class SourceChangeLogTests
{
    private readonly ManualTime _time = new();

    private sealed class Lines : ILogger
    {
        public List<string> Logged { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Logged.Add($"{logLevel}: {formatter(state, exception)}{(exception is null ? "" : " | " + exception)}");
    }

    private (SourceFreshness Source, Lines Log) New(string name = "etcd", string? where = "http://127.0.0.1:2379")
    {
        var source = new SourceFreshness(name, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), _time, where: where);
        var log = new Lines();
        new SourceChangeLog(log).Follow(source);
        return (source, log);
    }

    /// <summary>Moves the clock by <paramref name="seconds"/>, a failed check every 2 s and a page read every second, as the monitor does.</summary>
    private void FailFor(SourceFreshness source, double seconds, string cause)
    {
        var end = _time.Now + TimeSpan.FromSeconds(seconds);
        for (var tick = 0; _time.Now < end; tick++)
        {
            if (tick % 2 == 0)
            {
                source.Failed(cause);
            }

            source.View();
            _time.Now += TimeSpan.FromMilliseconds(Math.Min(1000, (end - _time.Now).TotalMilliseconds));
        }
    }

    [Test]
    public void An_outage_costs_one_line_out_with_its_cause_and_one_line_back_with_its_length()
    {
        var (etcd, log) = New();
        etcd.Answered();
        _time.Now += TimeSpan.FromSeconds(2);
        FailFor(etcd, 15.2, "connection refused: nothing listens at that address");
        Assert.That(log.Logged, Is.EqualTo(new[] { "Warning: etcd unreachable at http://127.0.0.1:2379 (connection refused: nothing listens at that address)" }),
            "eight failed checks and sixteen page reads: one line");

        etcd.Answered();
        etcd.Answered();
        _time.Now += TimeSpan.FromSeconds(2);
        etcd.Answered();
        Assert.That(log.Logged, Has.Count.EqualTo(2));
        Assert.That(log.Logged[1], Is.EqualTo("Information: etcd back after 15.2 s"), "one line back, with how long it was gone");

        FailFor(etcd, 7, "no answer in time");
        etcd.Answered();
        Assert.That(log.Logged.Skip(2), Is.EqualTo(new[] { "Warning: etcd unreachable at http://127.0.0.1:2379 (no answer in time)", "Information: etcd back after 7.0 s" }),
            "the next outage is told again, on its own");
    }

    [Test]
    public void A_failure_shorter_than_the_source_may_go_stale_logs_nothing()
    {
        var (etcd, log) = New();
        etcd.Answered();
        FailFor(etcd, 4, "connection refused");
        etcd.Answered();
        _time.Now += TimeSpan.FromSeconds(30);
        etcd.Answered();
        Assert.That(log.Logged, Is.Empty, "a blip raises no banner and writes no line, and so no 'back' either");
    }

    [Test]
    public void A_source_never_reached_says_when_it_first_answers_and_after_how_long()
    {
        var (influx, log) = New("InfluxDB", "http://127.0.0.1:8086");
        FailFor(influx, 12, "connection refused");
        influx.Answered();
        Assert.That(log.Logged, Is.EqualTo(new[]
        {
            "Warning: InfluxDB unreachable at http://127.0.0.1:8086 (connection refused)",
            "Information: InfluxDB answers, after 12.0 s unreachable",
        }));
    }

    [Test]
    public void A_source_that_falls_silent_is_told_lost_once_and_back_with_the_time_since_its_last_answer()
    {
        var (member, log) = New("etcd member http://127.0.0.1:23791", null);
        member.Answered();
        for (var i = 0; i < 30; i++)
        {
            _time.Now += TimeSpan.FromSeconds(1);
            member.View();
        }

        member.Answered();
        Assert.That(log.Logged, Is.EqualTo(new[]
        {
            "Warning: etcd member http://127.0.0.1:23791 unreachable (no answer for 10 s)",
            "Information: etcd member http://127.0.0.1:23791 back after 30.0 s",
        }));
    }
}
