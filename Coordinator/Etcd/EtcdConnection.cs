using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Mesh.Coordinator.Etcd;

/// <summary>One gRPC channel to an etcd cluster and the raw service clients on it.</summary>
/// <remarks>
/// Mesh drives etcd's gRPC services directly (KV, Watch, Lease) rather than through the client's helper layer, so
/// that every call carries its own deadline and every stream's life is in our hands: lease loss, watch resume and
/// back-off are decisions the peer makes, not side effects of a library loop.
/// </remarks>
public sealed class EtcdConnection : IDisposable
{
    /// <summary>How long one unary call may take before it counts as a failure.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    private readonly EtcdClient _client;

    public EtcdConnection(IReadOnlyList<string> endpoints)
    {
        if (endpoints.Count == 0)
        {
            throw new ArgumentException("at least one etcd endpoint is required", nameof(endpoints));
        }

        Endpoints = endpoints;
        _client = new EtcdClient(string.Join(",", endpoints), configureChannelOptions: o =>
        {
            // History pages and member lists are paged well below this, but a page of large messages may not be.
            o.MaxReceiveMessageSize = 64 * 1024 * 1024;
        });
        var connection = _client.GetConnection();
        KV = connection.KVClient;
        Watch = connection.WatchClient;
        Lease = connection.LeaseClient;
    }

    public IReadOnlyList<string> Endpoints { get; }

    public string Describe => string.Join(",", Endpoints);

    public KV.KVClient KV { get; }

    public Watch.WatchClient Watch { get; }

    public Lease.LeaseClient Lease { get; }

    public static DateTime Deadline(TimeSpan? timeout = null) => DateTime.UtcNow + (timeout ?? CallTimeout);

    /// <summary>Fails with a one-line <see cref="EtcdUnavailableException"/> when etcd does not answer in time.</summary>
    public async Task<long> CheckReachableAsync(TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            var response = await KV.RangeAsync(
                new RangeRequest { Key = ByteString.CopyFromUtf8(MeshKeys.Root), CountOnly = true },
                deadline: Deadline(timeout), cancellationToken: ct);
            return response.Header.Revision;
        }
        catch (RpcException e)
        {
            throw Unavailable(e);
        }
    }

    /// <summary>Turns a gRPC failure into an error that names the endpoints, without a stack trace's worth of detail.</summary>
    public EtcdUnavailableException Unavailable(RpcException e)
    {
        var why = e.StatusCode switch
        {
            StatusCode.DeadlineExceeded => "no answer in time",
            StatusCode.Unavailable => "connection refused or lost",
            StatusCode.Unauthenticated => "authentication failed",
            StatusCode.PermissionDenied => "permission denied",
            _ => e.Status.Detail.Length > 0 ? e.Status.Detail : e.StatusCode.ToString(),
        };
        return new EtcdUnavailableException($"etcd unreachable at {Describe} ({why})", e);
    }

    public void Dispose() => _client.Dispose();
}
