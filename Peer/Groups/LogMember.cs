namespace Mesh.Peer.Groups;

/// <summary>A member as the group log knows it: the keys pinned when it was added, and its rights.</summary>
/// <param name="PeerId">Its peer id (the hash of <paramref name="SigningKey"/>).</param>
/// <param name="SigningKey">Its Ed25519 public key: every message and record it signs is checked against this.</param>
/// <param name="CurveKey">Its Curve public key (Z85), for links and key grants.</param>
/// <param name="Name">The name it was added with.</param>
/// <param name="Admin">Whether it may remove others (the creator always may).</param>
public sealed record LogMember(string PeerId, byte[] SigningKey, string CurveKey, string Name, bool Admin);
