using System.Security.Cryptography;
using System.Text;

namespace Mesh.Peer.Groups;

/// <summary>The group name of the direct conversation of two peers: the same for both, whoever opens it, and a valid
/// group name (<see cref="Configuration.Naming.GroupRule"/>).</summary>
/// <remarks>80 bits of SHA-256 over the two peer ids, sorted: an etcd writer who wants to sit on a pair's name needs a
/// preimage, and one who writes there anyway is refused (the genesis must name exactly these two).</remarks>
public static class DirectName
{
    public const string Prefix = "dm-";

    private const int HexChars = 20;

    public static string Of(string peerA, string peerB)
    {
        if (peerA == peerB)
        {
            throw new ArgumentException("a direct conversation is between two different peers", nameof(peerB));
        }

        var (low, high) = string.CompareOrdinal(peerA, peerB) < 0 ? (peerA, peerB) : (peerB, peerA);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"mesh-dm/1\n{low}\n{high}"));
        return Prefix + Convert.ToHexStringLower(hash)[..HexChars];
    }
}
