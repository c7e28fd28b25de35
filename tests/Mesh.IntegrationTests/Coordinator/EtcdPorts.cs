using Etcdserverpb;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Coordinator.Registry;
using Mesh.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.IntegrationTests.Coordinator;

/// <summary>The ports as the peer has them, on a real etcd of their own (stopped on disposal).</summary>
public sealed class EtcdPorts : PortsUnderTest
{
    private readonly EtcdProcess _etcd;
    private readonly EtcdConnection _connection;

    private EtcdPorts(EtcdProcess etcd)
    {
        _etcd = etcd;
        _connection = new EtcdConnection([etcd.Url]);
        Watches = new EtcdWatches(_connection, NullLogger.Instance);
        LogStore = new GroupLogStore(_connection);
        Directory = new GroupDirectory(_connection);
        TrimClaims = new TrimClaims(_connection);
    }

    public static async Task<PortsUnderTest> StartAsync() => new EtcdPorts(await EtcdProcess.StartAsync());

    public override IEtcdInfo Info => _connection;

    public override IWatches Watches { get; }

    public override IGroupLogStore LogStore { get; }

    public override IMemberDirectory Directory { get; }

    public override ITrimClaims TrimClaims { get; }

    public override IPresence NewPresence(TimeSpan ttl) => new PeerRegistration(_connection, ttl, NullLogger.Instance);

    public override Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken ct) =>
        _connection.KV.RangeAsync(request, deadline: EtcdConnection.Deadline(), cancellationToken: ct).ResponseAsync;

    public override async Task<long> CompactAsync()
    {
        var revision = await _connection.CurrentRevisionAsync(CancellationToken.None);
        await _connection.KV.CompactAsync(new CompactionRequest { Revision = revision });
        return revision;
    }

    public override async Task EndLeaseAsync(IPresence presence) =>
        await _connection.Lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = ((PeerRegistration)presence).LeaseId });

    public override ValueTask DisposeAsync()
    {
        _connection.Dispose();
        _etcd.Dispose();
        return ValueTask.CompletedTask;
    }
}
