using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Coordinator.Etcd;

namespace Mesh.Peer.Configuration;

/// <summary>Builds and checks the etcd TLS and auth settings from flags and MESH_ETCD_* variables.</summary>
public static class EtcdAccess
{
    public static EtcdSettings From(IReadOnlyList<string> endpoints, string? caCert, string? cert, string? key, string? user, string? passwordFile)
    {
        caCert ??= Environment.GetEnvironmentVariable("MESH_ETCD_CACERT");
        cert ??= Environment.GetEnvironmentVariable("MESH_ETCD_CERT");
        key ??= Environment.GetEnvironmentVariable("MESH_ETCD_KEY");
        user ??= Environment.GetEnvironmentVariable("MESH_ETCD_USER");
        RequireFile("--etcd-cacert", caCert);
        RequireFile("--etcd-cert", cert);
        RequireFile("--etcd-key", key);
        if ((cert is null) != (key is null))
        {
            throw new MeshException("--etcd-cert and --etcd-key go together", 2);
        }

        try
        {
            if (caCert is not null)
            {
                using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(caCert));
            }

            if (cert is not null)
            {
                using var client = X509Certificate2.CreateFromPemFile(cert, key);
            }
        }
        catch (CryptographicException)
        {
            throw new MeshException(caCert is not null && cert is null
                ? $"--etcd-cacert: {caCert} is not a PEM certificate"
                : "--etcd-cacert/--etcd-cert/--etcd-key: not PEM files, or the key does not match the certificate", 2);
        }

        string? password = null;
        if (user is not null)
        {
            if (passwordFile is not null)
            {
                RequireFile("--etcd-password-file", passwordFile);
                password = File.ReadAllText(passwordFile).TrimEnd('\r', '\n');
            }
            else
            {
                password = Environment.GetEnvironmentVariable("MESH_ETCD_PASSWORD")
                    ?? throw new MeshException("--etcd-user needs a password: set MESH_ETCD_PASSWORD or give --etcd-password-file", 2);
            }
        }

        if ((caCert is not null || cert is not null) && endpoints.Any(e => e.StartsWith("http://", StringComparison.Ordinal)))
        {
            throw new MeshException("--etcd-cacert/--etcd-cert are for https:// endpoints; --etcd has an http:// one", 2);
        }

        return new EtcdSettings(endpoints)
        {
            CaCertificatePath = caCert,
            ClientCertificatePath = cert,
            ClientKeyPath = key,
            User = user,
            Password = password,
        };
    }

    private static void RequireFile(string flag, string? path)
    {
        if (path is not null && !File.Exists(path))
        {
            throw new MeshException($"{flag}: no such file {path}", 2);
        }
    }
}
