namespace Mesh.Monitoring.Watcher;

/// <summary>Everything the status page shows at one moment (<c>/api/state</c>).</summary>
public sealed record MeshSnapshot(long Time, IReadOnlyList<PeerView> Peers, IReadOnlyList<GroupView> Groups, IReadOnlyList<EndpointHealth> Etcd,
    long LeaseExpiries, IReadOnlyList<MeshEventView> Events, SeriesView Series, int LinksDown);
