namespace Mesh.Monitoring.Watcher;

/// <summary>Everything the status page shows at one moment (<c>/api/state</c>), with how current each source of it is
/// (<paramref name="Sources"/>: etcd, then InfluxDB).</summary>
public sealed record MeshSnapshot(long Time, IReadOnlyList<PeerView> Peers, IReadOnlyList<GroupView> Groups, IReadOnlyList<EndpointHealth> Etcd,
    long LeaseExpiries, IReadOnlyList<MeshEventView> Events, SeriesView Series, int LinksDown, IReadOnlyList<SourceView> Sources);
