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

    public static readonly Option<bool> Json = new("--json") { Description = "one JSON object per line" };

    public static MeshOptions Resolve(ParseResult result, string? name = null, string? bind = null, string? advertise = null, int? leaseTtl = null) =>
        MeshOptions.From(result.GetValue(Etcd), result.GetValue(Home), name, bind, advertise, leaseTtl);
}
