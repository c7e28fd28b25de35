namespace Mesh.Peer.Home;

/// <summary>See <see cref="CatchUpPlan"/>.</summary>
public enum CatchUpKind
{
    ReadAll,
    ReadSince,
    Reconcile,
}
