namespace Mesh.Peer.Home;

/// <summary>How to read a group's history at join: all of it (no usable copy), only what came after the copy, or all
/// of it and put back what etcd lost (<paramref name="Reason"/> says why).</summary>
public sealed record CatchUpPlan(CatchUpKind Kind, string? Reason);
