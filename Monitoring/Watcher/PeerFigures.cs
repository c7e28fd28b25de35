namespace Mesh.Monitoring.Watcher;

/// <summary>What a peer reports of itself to InfluxDB, as the monitor last read it: the delivery latency of the
/// messages it was shown in its last reporting interval (p50 weighted over its groups, p99 the worst group; null
/// when it was shown none in the last minute), its outbox backlog (sent, not yet in etcd), and when it reported them.</summary>
public sealed record PeerFigures(double? DeliveryP50Ms, double? DeliveryP99Ms, long? OutboxBacklog, long AtMs);
