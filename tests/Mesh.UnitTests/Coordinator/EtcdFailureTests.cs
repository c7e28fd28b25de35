using System.Net.Sockets;
using System.Security.Authentication;
using Grpc.Core;
using Mesh.Coordinator.Etcd;

namespace Mesh.UnitTests.Coordinator;

[Category("Unit")]
public sealed class EtcdFailureTests
{
    private static RpcException Unavailable(Exception? debug) =>
        new(new Status(StatusCode.Unavailable, "Error connecting to subchannel.", debug));

    [Test]
    public void Error_connecting_to_subchannel_is_told_by_the_socket_error_underneath()
    {
        Assert.That(EtcdFailure.Words(Unavailable(new SocketException((int)SocketError.ConnectionRefused))), Does.StartWith("connection refused: nothing listens"));
        Assert.That(EtcdFailure.Words(Unavailable(new HttpRequestException("x", new SocketException((int)SocketError.HostNotFound)))), Is.EqualTo("host name not found"));
        Assert.That(EtcdFailure.Words(Unavailable(new SocketException((int)SocketError.NetworkUnreachable))), Is.EqualTo("network unreachable"));
        Assert.That(EtcdFailure.Words(Unavailable(null)), Is.EqualTo("connection refused or lost"));
        Assert.That(EtcdFailure.Words(Unavailable(new HttpRequestException("x", new AuthenticationException("bad")))), Does.StartWith("TLS handshake failed"));
    }

    [Test]
    public void Other_codes_are_said_plainly_in_one_line()
    {
        Assert.That(EtcdFailure.Words(new RpcException(new Status(StatusCode.DeadlineExceeded, ""))), Is.EqualTo("no answer in time"));
        Assert.That(EtcdFailure.Words(new RpcException(new Status(StatusCode.Unavailable, "etcdserver: no leader"))), Is.EqualTo("a member cut off from its cluster's leader"));
        Assert.That(EtcdFailure.Words(new RpcException(new Status(StatusCode.Unauthenticated, "x"))), Does.StartWith("authentication failed"));
        Assert.That(EtcdFailure.Words(new RpcException(new Status(StatusCode.Internal, "line one\nline two."))), Is.EqualTo("line one line two"));
        Assert.That(EtcdFailure.Words(new RpcException(new Status(StatusCode.Unavailable, "x"))).Contains("subchannel"), Is.False);
    }
}
