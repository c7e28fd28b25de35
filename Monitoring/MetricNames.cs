namespace Mesh.Monitoring;

/// <summary>Every instrument name Mesh reports, in one place (dashboards and tests refer to these).</summary>
/// <remarks>In InfluxDB each instrument is a measurement named like the instrument with dots as underscores:
/// <c>mesh.messages.sent</c> is <c>mesh_messages_sent</c>.</remarks>
public static class MetricNames
{
    public const string MeterName = "Mesh";

    // Messages, per group.
    public const string MessagesSent = "mesh.messages.sent";
    public const string MessagesReceived = "mesh.messages.received";
    public const string BytesSent = "mesh.bytes.sent";
    public const string BytesReceived = "mesh.bytes.received";
    public const string DeliveryLatency = "mesh.delivery.latency";
    public const string FramesRejected = "mesh.frames.rejected";
    public const string DuplicatesDropped = "mesh.messages.duplicates";
    public const string GapsRepaired = "mesh.gaps.repaired";

    // Links to other members.
    public const string LinksConnected = "mesh.links.connected";
    public const string LinksKnown = "mesh.links.known";
    public const string Reconnects = "mesh.reconnects";
    public const string LinkRtt = "mesh.link.rtt";

    // etcd, history and presence.
    public const string HistoryWritten = "mesh.history.written";
    public const string HistoryTransactions = "mesh.history.transactions";
    public const string OutboxBacklog = "mesh.outbox.backlog";
    public const string EtcdLatency = "mesh.etcd.latency";
    public const string EtcdErrors = "mesh.etcd.errors";
    public const string LeaseRenewals = "mesh.lease.renewals";
    public const string LeaseLosses = "mesh.lease.losses";

    // The process.
    public const string ProcessMemory = "mesh.process.memory";
    public const string ProcessCpu = "mesh.process.cpu";

    // The reporter itself.
    public const string InfluxDropped = "mesh.influx.dropped";
    public const string InfluxBuffered = "mesh.influx.buffered";

    // mesh monitor: what it sees of the whole mesh.
    public const string MonitorPeers = "mesh.monitor.peers";
    public const string MonitorGroups = "mesh.monitor.groups";
    public const string MonitorMembers = "mesh.monitor.members";
    public const string MonitorLinksDown = "mesh.monitor.links.down";
    public const string MonitorPeersSuspect = "mesh.monitor.peers.suspect";
    public const string MonitorPeersUnsigned = "mesh.monitor.peers.unsigned";
    public const string MonitorLeaseExpiries = "mesh.monitor.lease.expiries";
    public const string MonitorMessages = "mesh.monitor.messages";
    public const string MonitorHistoryLatency = "mesh.monitor.history.latency";
    public const string MonitorEtcdHealthy = "mesh.monitor.etcd.healthy";
    public const string MonitorEtcdUnhealthy = "mesh.monitor.etcd.unhealthy";
    public const string MonitorEtcdLeaders = "mesh.monitor.etcd.leaders";
    public const string EtcdMemberHealthy = "mesh.etcd.member.healthy";
    public const string EtcdMemberLeader = "mesh.etcd.member.leader";
    public const string EtcdMemberDbSize = "mesh.etcd.member.db_size";
    public const string EtcdMemberDbQuota = "mesh.etcd.member.db_quota";
    public const string EtcdMemberDbQuotaUsed = "mesh.etcd.member.db_quota_used";
    public const string EtcdMemberAlarms = "mesh.etcd.member.alarms";
    public const string EtcdMemberLatency = "mesh.etcd.member.latency";

    /// <summary>The InfluxDB measurement an instrument is written to.</summary>
    public static string Measurement(string instrument) => instrument.Replace('.', '_');
}
