using Grpc.Core;

namespace Mesh.Coordinator.Etcd;

/// <summary>Marks every KV, watch and lease call as needing a member that has a leader (etcd's <c>hasleader</c>
/// metadata): a member cut off from the rest of its cluster then refuses them at once, and ends the watches and
/// keep-alives open on it, instead of holding them while nothing it says can be trusted. The call is retried, and the
/// stream reopened, on another member.</summary>
/// <remarks>Without it, a peer whose keep-alive stream happened to be on a member split from the others keeps
/// "renewing" a lease the cluster lets expire, and its watches go silent.</remarks>
internal sealed class RequireLeaderInterceptor : HeaderInterceptor
{
    public const string Key = "hasleader";

    // Status and member calls are asked of one member about itself: a leaderless one must still answer them.
    protected override IEnumerable<(string Key, string Value)> HeadersFor(IMethod method) =>
        method.ServiceName is "etcdserverpb.KV" or "etcdserverpb.Watch" or "etcdserverpb.Lease" ? [(Key, "true")] : [];
}
