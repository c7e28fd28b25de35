using Grpc.Core;

namespace Mesh.Coordinator.Etcd;

/// <summary>Adds etcd's auth token to every call, when etcd auth is on.</summary>
internal sealed class AuthTokenInterceptor : HeaderInterceptor
{
    private volatile string? _token;

    public void SetToken(string token) => _token = token;

    protected override IEnumerable<(string Key, string Value)> HeadersFor(IMethod method) =>
        _token is { } token ? [("token", token)] : [];
}
