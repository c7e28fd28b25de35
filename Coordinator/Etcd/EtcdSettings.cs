namespace Mesh.Coordinator.Etcd;

/// <summary>How to reach etcd: endpoints, and optionally TLS (a CA to trust, a client certificate) and a user.</summary>
public sealed record EtcdSettings(IReadOnlyList<string> Endpoints)
{
    /// <summary>PEM file of the CA that signed etcd's server certificate (for https endpoints).</summary>
    public string? CaCertificatePath { get; init; }

    /// <summary>PEM client certificate and key, for an etcd that requires client certificates.</summary>
    public string? ClientCertificatePath { get; init; }

    public string? ClientKeyPath { get; init; }

    /// <summary>etcd user (etcd auth enabled); the password never appears in logs or errors.</summary>
    public string? User { get; init; }

    public string? Password { get; init; }

    public string Describe => string.Join(",", Endpoints);
}
