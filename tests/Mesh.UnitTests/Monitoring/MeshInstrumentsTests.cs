using System.Diagnostics.Metrics;
using Mesh.Monitoring;

namespace Mesh.UnitTests.Monitoring;

[Category("Unit")]
public sealed class MeshInstrumentsTests
{
    [Test]
    public void Each_event_is_counted_on_its_named_instrument_with_its_group()
    {
        var seen = new List<(string Name, long Value, string? Group)>();
        using var instruments = new MeshInstruments();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == instruments.Meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? group = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "group")
                {
                    group = tag.Value as string;
                }
            }

            lock (seen)
            {
                seen.Add((instrument.Name, value, group));
            }
        });
        listener.Start();

        instruments.MessageSent("ops", 180);
        instruments.MessageReceived("ops");
        instruments.DuplicatesDropped("ops", 0);
        instruments.DuplicatesDropped("ops", 3);
        instruments.HistoryBatchWritten(40);

        Assert.That(seen, Does.Contain((MetricNames.MessagesSent, 1L, "ops")));
        Assert.That(seen, Does.Contain((MetricNames.BytesSent, 180L, "ops")));
        Assert.That(seen, Does.Contain((MetricNames.MessagesReceived, 1L, "ops")));
        Assert.That(seen, Does.Contain((MetricNames.DuplicatesDropped, 3L, "ops")));
        Assert.That(seen.Count(s => s.Name == MetricNames.DuplicatesDropped), Is.EqualTo(1), "zero is not reported");
        Assert.That(seen, Does.Contain((MetricNames.HistoryWritten, 40L, (string?)null)));
        Assert.That(seen, Does.Contain((MetricNames.HistoryTransactions, 1L, (string?)null)));
    }
}
