using Mesh.Coordinator.History;
using Mesh.UnitTests.Groups;
using Microsoft.Extensions.Logging;

namespace Mesh.UnitTests.Coordinator;

[Category("Unit")]
public sealed class OversizedValuesTests
{
    [Test]
    public void Values_left_out_are_one_warning_a_minute_naming_the_count_however_many_reads_meet_them()
    {
        var log = new LinesLogged();
        var time = new ManualTime();
        var oversized = new OversizedValues(log, time);

        oversized.Add("ops", 50);
        for (var i = 0; i < 1000; i++)
        {
            oversized.Add("ops", 50);
            time.Now += TimeSpan.FromMilliseconds(10);
        }

        Assert.That(log.Lines, Has.Count.EqualTo(1), "the first at once, then nothing within the minute");
        Assert.That(log.Lines[0], Does.Contain("left out 50 history values").And.Contain("'ops'").And.Contain(EtcdHistoryStore.MaxValueBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        time.Now += TimeSpan.FromMinutes(1);
        oversized.Add("dev", 0);
        Assert.That(log.Lines, Has.Count.EqualTo(2));
        Assert.That(log.Lines[1], Does.Contain("left out 50000 history values"), "what came since, in one line");
        Assert.That(oversized.Total, Is.EqualTo(50_050));

        time.Now += TimeSpan.FromMinutes(5);
        oversized.Add("dev", 0);
        Assert.That(log.Lines, Has.Count.EqualTo(2), "nothing new, nothing said");
    }

    [Test]
    public void Without_a_log_values_are_still_counted()
    {
        var oversized = new OversizedValues(null);
        oversized.Add("ops", 3);
        oversized.Add("ops", 4);
        Assert.That(oversized.Total, Is.EqualTo(7));
    }

    private sealed class LinesLogged : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
