using Etcdserverpb;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Coordinator.Registry;

namespace Mesh.IntegrationTests.Coordinator;

/// <summary>The session's ports on one etcd, real or the in-memory twin, and what only a test does to that etcd: what
/// each port contract runs against. Every port sees what the others write, as through one etcd.</summary>
public abstract class PortsUnderTest : IAsyncDisposable
{
    public abstract IEtcdInfo Info { get; }

    public abstract IWatches Watches { get; }

    public abstract IGroupLogStore LogStore { get; }

    public abstract IMemberDirectory Directory { get; }

    public abstract ITrimClaims TrimClaims { get; }

    /// <summary>A presence of its own (one lease), not started.</summary>
    public abstract IPresence NewPresence(TimeSpan ttl);

    /// <summary>etcd's range call, as <see cref="BoundedRange"/> makes it.</summary>
    public abstract Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken ct);

    /// <summary>Compacts away every revision before the current one, as an operator does; returns the current one.</summary>
    public abstract Task<long> CompactAsync();

    /// <summary>Ends a presence's lease behind its back, as its expiry would.</summary>
    public abstract Task EndLeaseAsync(IPresence presence);

    public abstract ValueTask DisposeAsync();
}
