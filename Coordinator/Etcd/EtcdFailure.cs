using System.Net.Sockets;
using System.Security.Authentication;
using Grpc.Core;

namespace Mesh.Coordinator.Etcd;

/// <summary>Why an etcd call failed, in plain words: gRPC says "Error connecting to subchannel." for a refused
/// connection, an unknown host and a dead network alike; the socket error underneath tells them apart.</summary>
public static class EtcdFailure
{
    /// <summary>The cause of <paramref name="e"/> as a person would say it (no period, no stack, one line).</summary>
    public static string Words(RpcException e)
    {
        if (e.StatusCode == StatusCode.DeadlineExceeded)
        {
            return "no answer in time";
        }

        if (e.StatusCode == StatusCode.Unavailable)
        {
            if (NetworkWords.Find<AuthenticationException>(e.Status.DebugException) is not null)
            {
                return "TLS handshake failed: its certificate is not trusted (see --etcd-cacert) or does not name the host";
            }

            if (EtcdConnection.IsNoLeader(e))
            {
                return "a member cut off from its cluster's leader";
            }

            if (NetworkWords.Find<SocketException>(e.Status.DebugException) is { } socket)
            {
                return NetworkWords.Words(socket.SocketErrorCode);
            }

            return "connection refused or lost";
        }

        return e.StatusCode switch
        {
            StatusCode.Unauthenticated => "authentication failed: wrong user or password",
            StatusCode.PermissionDenied => "permission denied to the configured user",
            StatusCode.Cancelled => "the call was cancelled",
            _ => e.Status.Detail.Length > 0 ? NetworkWords.OneLine(e.Status.Detail) : e.StatusCode.ToString(),
        };
    }

    /// <summary>etcd's answer to a read at a revision that was compacted away.</summary>
    public static bool IsCompacted(RpcException e) =>
        e.StatusCode == StatusCode.OutOfRange || e.Status.Detail.Contains("compacted", StringComparison.Ordinal);
}
