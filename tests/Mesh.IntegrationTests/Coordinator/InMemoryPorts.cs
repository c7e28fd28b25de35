using Etcdserverpb;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Coordinator.Registry;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Coordinator;

/// <summary>The in-memory twins of the ports, on one <see cref="InMemoryEtcd"/> (on the system's clock).</summary>
public sealed class InMemoryPorts : PortsUnderTest
{
    private readonly InMemoryEtcd _etcd = new();

    private InMemoryPorts()
    {
        Watches = new InMemoryWatches(_etcd);
        LogStore = new InMemoryGroupLogStore(_etcd);
        Directory = new InMemoryMemberDirectory(_etcd);
        TrimClaims = new InMemoryTrimClaims(_etcd);
    }

    public static Task<PortsUnderTest> StartAsync() => Task.FromResult<PortsUnderTest>(new InMemoryPorts());

    public override IEtcdInfo Info => _etcd;

    public override IWatches Watches { get; }

    public override IGroupLogStore LogStore { get; }

    public override IMemberDirectory Directory { get; }

    public override ITrimClaims TrimClaims { get; }

    public override IPresence NewPresence(TimeSpan ttl) => new InMemoryPresence(_etcd, ttl);

    public override Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken ct) => _etcd.RangeAsync(request, ct);

    public override Task<long> CompactAsync()
    {
        var revision = _etcd.Revision;
        _etcd.Compact(revision);
        return Task.FromResult(revision);
    }

    public override Task EndLeaseAsync(IPresence presence)
    {
        _etcd.ExpireLease(((InMemoryPresence)presence).LeaseId);
        return Task.CompletedTask;
    }

    public override ValueTask DisposeAsync()
    {
        _etcd.Dispose();
        return ValueTask.CompletedTask;
    }
}
