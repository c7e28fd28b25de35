using System.Diagnostics.Metrics;

namespace Mesh.Monitoring;

/// <summary>The instruments of one peer, with methods named for what happened.</summary>
/// <remarks>Counters tagged by group are created with a zero for each group joined, so that a dashboard shows
/// zero rather than nothing for a group that has been quiet.</remarks>
public sealed class MeshInstruments : IDisposable
{
    private readonly Counter<long> _sent;
    private readonly Counter<long> _received;
    private readonly Counter<long> _bytesSent;
    private readonly Counter<long> _bytesReceived;
    private readonly Histogram<double> _latency;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _repaired;
    private readonly Counter<long> _reconnects;
    private readonly Counter<long> _historyWritten;
    private readonly Counter<long> _historyTransactions;
    private readonly Histogram<double> _etcdLatency;
    private readonly Counter<long> _etcdErrors;
    private readonly Counter<long> _leaseRenewals;
    private readonly Counter<long> _leaseLosses;
    private volatile int _linksConnected;
    private volatile int _linksKnown;
    private Func<long> _outboxBacklog = () => 0;
    private volatile IReadOnlyList<(string Member, string Name, double Ms)> _rtts = [];

    public MeshInstruments(IMeterFactory? factory = null)
    {
        Meter = factory?.Create(MetricNames.MeterName) ?? new Meter(MetricNames.MeterName);
        _sent = Meter.CreateCounter<long>(MetricNames.MessagesSent, "{message}", "messages this peer sent");
        _received = Meter.CreateCounter<long>(MetricNames.MessagesReceived, "{message}", "messages of others shown to the user");
        _bytesSent = Meter.CreateCounter<long>(MetricNames.BytesSent, "By", "sealed message bytes published");
        _bytesReceived = Meter.CreateCounter<long>(MetricNames.BytesReceived, "By", "message bytes taken from links");
        _latency = Meter.CreateHistogram<double>(MetricNames.DeliveryLatency, "ms", "from the sender's send time to display here, for messages arriving while in the group");
        _rejected = Meter.CreateCounter<long>(MetricNames.FramesRejected, "{frame}", "malformed or forged frames dropped");
        _duplicates = Meter.CreateCounter<long>(MetricNames.DuplicatesDropped, "{message}", "copies of messages already shown");
        _repaired = Meter.CreateCounter<long>(MetricNames.GapsRepaired, "{message}", "messages missed live and delivered from history");
        _reconnects = Meter.CreateCounter<long>(MetricNames.Reconnects, "{reconnect}", "links to members and to etcd restored after a loss");
        _historyWritten = Meter.CreateCounter<long>(MetricNames.HistoryWritten, "{message}", "messages persisted to history");
        _historyTransactions = Meter.CreateCounter<long>(MetricNames.HistoryTransactions, "{transaction}", "etcd transactions that persisted them");
        _etcdLatency = Meter.CreateHistogram<double>(MetricNames.EtcdLatency, "ms", "duration of etcd requests");
        _etcdErrors = Meter.CreateCounter<long>(MetricNames.EtcdErrors, "{request}", "etcd requests that failed");
        _leaseRenewals = Meter.CreateCounter<long>(MetricNames.LeaseRenewals, "{renewal}", "presence lease keep-alives answered");
        _leaseLosses = Meter.CreateCounter<long>(MetricNames.LeaseLosses, "{loss}", "presence leases etcd no longer knew");
        Meter.CreateObservableGauge(MetricNames.LinksConnected, () => _linksConnected, "{link}", "members with a working link");
        Meter.CreateObservableGauge(MetricNames.LinksKnown, () => _linksKnown, "{link}", "members followed");
        Meter.CreateObservableGauge(MetricNames.LinkRtt,
            () => _rtts.Select(r => new Measurement<double>(r.Ms, new KeyValuePair<string, object?>("member", r.Member), new KeyValuePair<string, object?>("member_name", r.Name))),
            "ms", "round trip to each member with a working link, measured on the heartbeats");
        Meter.CreateObservableGauge(MetricNames.OutboxBacklog, () => _outboxBacklog(), "{message}", "sent messages not yet acknowledged by etcd");
        ProcessInstruments.Register(Meter);
    }

    /// <summary>Records zeros for the series that should exist from the start, even when nothing has happened
    /// yet (call once a collector listens).</summary>
    public void RecordBaseline()
    {
        _reconnects.Add(0, Kind("member"));
        _reconnects.Add(0, Kind("etcd"));
        _etcdErrors.Add(0);
        _leaseRenewals.Add(0);
        _leaseLosses.Add(0);
        _historyWritten.Add(0);
        _historyTransactions.Add(0);
    }

    /// <summary>The meter all of this peer's instruments belong to (what a collector listens to).</summary>
    public Meter Meter { get; }

    /// <summary>Where the outbox backlog is read from when metrics are collected.</summary>
    public void ObserveOutbox(Func<long> backlog) => _outboxBacklog = backlog;

    public void GroupJoined(string group)
    {
        var tag = Group(group);
        _sent.Add(0, tag);
        _received.Add(0, tag);
        _bytesSent.Add(0, tag);
        _bytesReceived.Add(0, tag);
        _rejected.Add(0, tag);
        _duplicates.Add(0, tag);
        _repaired.Add(0, tag);
    }

    public void MessageSent(string group, int bytes)
    {
        var tag = Group(group);
        _sent.Add(1, tag);
        _bytesSent.Add(bytes, tag);
    }

    public void MessageReceived(string group) => _received.Add(1, Group(group));

    public void BytesReceived(string group, int bytes) => _bytesReceived.Add(bytes, Group(group));

    /// <summary>A message of another member shown while in the group, <paramref name="latencyMs"/> after it was sent.</summary>
    public void Delivered(string group, double latencyMs) => _latency.Record(Math.Max(0, latencyMs), Group(group));

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

    public void Links(int connected, int known)
    {
        _linksConnected = connected;
        _linksKnown = known;
    }

    /// <summary>The round trips measured now, one per member with a reading (replaces the last set).</summary>
    public void LinkRtts(IReadOnlyList<(string Member, string Name, double Ms)> rtts) => _rtts = rtts;

    /// <summary>A link came back after a loss: <paramref name="kind"/> is <c>member</c> or <c>etcd</c>.</summary>
    public void Reconnected(string kind) => _reconnects.Add(1, Kind(kind));

    public void HistoryBatchWritten(int messages)
    {
        _historyWritten.Add(messages);
        _historyTransactions.Add(1);
    }

    /// <summary>One etcd request finished after <paramref name="elapsed"/>; <paramref name="failed"/> when it did not succeed.</summary>
    public void EtcdRequest(string method, TimeSpan elapsed, bool failed)
    {
        var tag = new KeyValuePair<string, object?>("method", method);
        _etcdLatency.Record(elapsed.TotalMilliseconds, tag);
        if (failed)
        {
            _etcdErrors.Add(1);
        }
    }

    public void LeaseRenewed() => _leaseRenewals.Add(1);

    public void LeaseLost() => _leaseLosses.Add(1);

    private static KeyValuePair<string, object?> Group(string group) => new("group", group);

    private static KeyValuePair<string, object?> Kind(string kind) => new("kind", kind);

    public void Dispose() => Meter.Dispose();
}
