namespace Mesh.Testing;

/// <summary>A peer's PUB listener behind a <see cref="TcpProxy"/>: the peer binds a free port and advertises the
/// proxy's, so that cutting the proxy cuts every link to that peer's messages, and nothing else (not etcd).</summary>
public sealed class PublisherProxy : IDisposable
{
    private readonly TcpProxy _proxy;

    public PublisherProxy()
    {
        var port = FreePort.Next();
        _proxy = new TcpProxy(port);
        Flags = ["--bind", $"tcp://127.0.0.1:{port}", "--advertise", $"tcp://127.0.0.1:{_proxy.Port}"];
    }

    /// <summary>The <c>mesh join</c> flags that put the peer behind this proxy.</summary>
    public string[] Flags { get; }

    public void Cut() => _proxy.Cut();

    public void Restore() => _proxy.Restore();

    public void Dispose() => _proxy.Dispose();
}
