namespace Mesh.Coordinator.History;

/// <summary>See <see cref="CatchUpPlan"/>.</summary>
public enum CatchUpKind
{
    ReadAll,
    ReadSince,
    Reconcile,
}
