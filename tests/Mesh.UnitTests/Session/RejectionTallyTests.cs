using Mesh.Peer.Protocol;
using Mesh.Peer.Session;
using Microsoft.Extensions.Logging;

namespace Mesh.UnitTests.Session;

[Category("Unit")]
public sealed class RejectionTallyTests
{
    private sealed class Lines : ILogger
    {
        public List<string> Logged { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Logged.Add(formatter(state, exception));
    }

    [Test]
    public void A_flood_of_rejects_costs_a_few_lines_and_flags_the_link_once()
    {
        var log = new Lines();
        var tally = new RejectionTally(log);
        var flagged = 0;
        for (var i = 0; i < 400_000; i++)
        {
            flagged += tally.NoteFrame("rogue", "ops", RejectReason.NotSealedForGroup) ? 1 : 0;
            tally.NoteHistory("ops", RejectReason.Malformed);
        }

        for (var i = 0; i < 10_000; i++)
        {
            tally.NoteFrame($"peer{i}", $"g{i}", RejectReason.BadSignature);
        }

        tally.Flush(20_000);
        Assert.That(flagged, Is.EqualTo(1), "the link is flagged once per interval");
        Assert.That(log.Logged, Has.Count.LessThanOrEqualTo(21));
        Assert.That(log.Logged, Has.Some.Contains("dropped 400000 frames from rogue on 'ops'"));
        Assert.That(log.Logged, Has.Some.Contains("skipped 400000 history entries in 'ops'"));
        Assert.That(log.Logged[^1], Does.Contain("more frames and entries from other sources"));

        tally.Flush(25_000);
        Assert.That(log.Logged, Has.Count.LessThanOrEqualTo(21), "nothing more within the interval");
    }
}
