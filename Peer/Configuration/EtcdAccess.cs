using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Coordinator.Etcd;

namespace Mesh.Peer.Configuration;

/// <summary>Builds and checks the etcd TLS and auth settings from flags and MESH_ETCD_* variables.</summary>
public static class EtcdAccess
{
    /// <summary>The variable that does what <c>--etcd-insecure-password</c> does.</summary>
    public const string InsecurePasswordVariable = "MESH_ETCD_INSECURE_PASSWORD";

    /// <param name="endpoints">The etcd endpoints.</param>
    /// <param name="caCert">--etcd-cacert, or null for MESH_ETCD_CACERT.</param>
    /// <param name="cert">--etcd-cert, or null for MESH_ETCD_CERT.</param>
    /// <param name="key">--etcd-key, or null for MESH_ETCD_KEY.</param>
    /// <param name="user">--etcd-user, or null for MESH_ETCD_USER.</param>
    /// <param name="passwordFile">--etcd-password-file, or null for MESH_ETCD_PASSWORD.</param>
    /// <param name="insecurePassword">--etcd-insecure-password (or MESH_ETCD_INSECURE_PASSWORD=1): send the password
    /// to http:// endpoints, in clear text, after a warning.</param>
    /// <param name="warnings">Where that warning goes (stderr).</param>
    public static EtcdSettings From(IReadOnlyList<string> endpoints, string? caCert, string? cert, string? key, string? user, string? passwordFile,
        bool insecurePassword = false, TextWriter? warnings = null)
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

        // etcd's Authenticate call carries the password as it is: over http:// anyone on the path reads it, and with
        // it every key of Mesh's role. Only an explicit choice sends it there.
        insecurePassword |= IsOn(InsecurePasswordVariable);
        var plain = endpoints.Where(e => e.StartsWith("http://", StringComparison.OrdinalIgnoreCase)).ToList();
        if (password is not null && plain.Count > 0)
        {
            if (!insecurePassword)
            {
                throw new MeshException(
                    $"--etcd-user: the etcd password would go in clear text to {string.Join(", ", plain)}: use https:// endpoints, or pass --etcd-insecure-password ({InsecurePasswordVariable}=1) to send it anyway", 2);
            }

            (warnings ?? Console.Error).WriteLine(
                $"mesh: warning: the etcd password goes in clear text to {string.Join(", ", plain)} (--etcd-insecure-password): anyone on the path can read it");
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

    /// <summary>Whether an on/off variable is on: 1 or true; unset, empty, 0 or false is off; anything else is refused.</summary>
    private static bool IsOn(string variable) =>
        Environment.GetEnvironmentVariable(variable)?.Trim().ToLowerInvariant() switch
        {
            null or "" or "0" or "false" => false,
            "1" or "true" => true,
            var other => throw new MeshException($"{variable} '{Naming.Printable(other)}': must be 1 or 0", 2),
        };

    private static void RequireFile(string flag, string? path)
    {
        if (path is not null && !File.Exists(path))
        {
            throw new MeshException($"{flag}: no such file {path}", 2);
        }
    }
}
