using System.Diagnostics.Metrics;

namespace Mesh.Monitoring;

/// <summary>The instruments of one peer, with methods named for what happened.</summary>
public sealed class MeshInstruments : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _sent;
    private readonly Counter<long> _received;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _repaired;
    private readonly Counter<long> _historyWritten;
    private readonly Counter<long> _historyTransactions;

    public MeshInstruments(IMeterFactory? factory = null)
    {
        _meter = factory?.Create(MetricNames.MeterName) ?? new Meter(MetricNames.MeterName);
        _sent = _meter.CreateCounter<long>(MetricNames.MessagesSent, "{message}", "messages this peer sent");
        _received = _meter.CreateCounter<long>(MetricNames.MessagesReceived, "{message}", "messages of others shown to the user");
        _rejected = _meter.CreateCounter<long>(MetricNames.FramesRejected, "{frame}", "malformed or forged frames dropped");
        _duplicates = _meter.CreateCounter<long>(MetricNames.DuplicatesDropped, "{message}", "copies of messages already shown");
        _repaired = _meter.CreateCounter<long>(MetricNames.GapsRepaired, "{message}", "messages missed live and delivered from history");
        _historyWritten = _meter.CreateCounter<long>(MetricNames.HistoryWritten, "{message}", "messages persisted to history");
        _historyTransactions = _meter.CreateCounter<long>(MetricNames.HistoryTransactions, "{transaction}", "etcd transactions that persisted them");
    }

    public void MessageSent(string group) => _sent.Add(1, Group(group));

    public void MessageReceived(string group) => _received.Add(1, Group(group));

    public void FrameRejected(string group) => _rejected.Add(1, Group(group));

    public void DuplicatesDropped(string group, long count)
    {
        if (count > 0)
        {
            _duplicates.Add(count, Group(group));
        }
    }

    public void GapsRepaired(string group, long count)
    {
        if (count > 0)
        {
            _repaired.Add(count, Group(group));
        }
    }

    public void HistoryBatchWritten(int messages)
    {
        _historyWritten.Add(messages);
        _historyTransactions.Add(1);
    }

    private static KeyValuePair<string, object?> Group(string group) => new("group", group);

    public void Dispose() => _meter.Dispose();
}
