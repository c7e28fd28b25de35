using System.Text;
using Mesh.Peer.Identity;

namespace Mesh.Peer.Groups;

/// <summary>A joiner's own signature over the group (by its genesis), its peer id, keys and name: an <c>add</c> entry
/// carries it, so that no member can write a peer into the roster with keys or a name the peer did not choose (a
/// KeyPackage, in MLS's words).</summary>
public static class JoinConsent
{
    private static ReadOnlySpan<byte> Domain => "mesh-join/1\0"u8;

    private static byte[] Signed(string group, string genesisHash, string peerId, ReadOnlySpan<byte> signingKey, string curveKey, string name) =>
        [.. Domain, .. Encoding.UTF8.GetBytes(string.Join('\n', group, genesisHash, peerId, Convert.ToBase64String(signingKey), curveKey, name))];

    /// <summary>The joiner's consent to be added to the group of <paramref name="genesisHash"/> as <paramref name="name"/>.</summary>
    public static byte[] Sign(PeerIdentity joiner, string group, string genesisHash, string name) =>
        joiner.Sign(Signed(group, genesisHash, joiner.PeerId, joiner.SigningPublicKey, joiner.PublicKeyZ85, name));

    /// <summary>Whether <paramref name="consent"/> is the peer's signature, with the key it names, over exactly these.</summary>
    public static bool IsValid(ReadOnlySpan<byte> consent, string group, string genesisHash, string peerId, byte[] signingKey, string curveKey, string name) =>
        consent.Length == 64 && PeerIdentity.DerivePeerId(signingKey) == peerId
        && PeerIdentity.Verify(signingKey, Signed(group, genesisHash, peerId, signingKey, curveKey, name), consent.ToArray());
}
