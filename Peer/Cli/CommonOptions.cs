using System.CommandLine;
using Mesh.Peer.Configuration;

namespace Mesh.Peer.Cli;

/// <summary>Flags that every command understands.</summary>
internal static class CommonOptions
{
    public static readonly Option<string?> Etcd = new("--etcd")
    {
        Description = $"etcd endpoints, comma-separated (env MESH_ETCD; default {MeshOptions.DefaultEtcd})",
        Recursive = true,
    };

    public static readonly Option<string?> Home = new("--home")
    {
        Description = "home directory holding this peer's identity (env MESH_HOME; default ~/.mesh)",
        Recursive = true,
    };

    public static readonly Option<string?> EtcdCaCert = new("--etcd-cacert")
    {
        Description = "PEM file of the CA that signed etcd's certificate, for https endpoints (env MESH_ETCD_CACERT)",
        Recursive = true,
    };

    public static readonly Option<string?> EtcdCert = new("--etcd-cert")
    {
        Description = "PEM client certificate, when etcd requires one (env MESH_ETCD_CERT)",
        Recursive = true,
    };

    public static readonly Option<string?> EtcdKey = new("--etcd-key")
    {
        Description = "PEM key of the client certificate (env MESH_ETCD_KEY)",
        Recursive = true,
    };

    public static readonly Option<string?> EtcdUser = new("--etcd-user")
    {
        Description = "etcd user, when etcd auth is on (env MESH_ETCD_USER); the password comes from MESH_ETCD_PASSWORD or --etcd-password-file",
        Recursive = true,
    };

    public static readonly Option<string?> EtcdPasswordFile = new("--etcd-password-file")
    {
        Description = "file holding the etcd user's password (keep it mode 0600)",
        Recursive = true,
    };

    public static readonly Option<bool> EtcdInsecurePassword = new("--etcd-insecure-password")
    {
        Description = "send the etcd password to http:// endpoints, in clear text, with a warning (env MESH_ETCD_INSECURE_PASSWORD=1); without it a password with an http:// endpoint is refused",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json") { Description = "one JSON object per line" };

    public static MeshOptions Resolve(ParseResult result, string? name = null, string? bind = null, string? advertise = null, int? leaseTtl = null)
    {
        var options = MeshOptions.From(result.GetValue(Etcd), result.GetValue(Home), name, bind, advertise, leaseTtl);
        return options with
        {
            Etcd = EtcdAccess.From(options.EtcdEndpoints, result.GetValue(EtcdCaCert), result.GetValue(EtcdCert),
                result.GetValue(EtcdKey), result.GetValue(EtcdUser), result.GetValue(EtcdPasswordFile), result.GetValue(EtcdInsecurePassword)),
        };
    }
}
