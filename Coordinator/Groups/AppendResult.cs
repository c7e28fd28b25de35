namespace Mesh.Coordinator.Groups;

/// <summary>What one try at a log append found: written, or what sits at the index now (read in the same round trip,
/// so that the next try compares against that and never against a revision remembered from junk since deleted).</summary>
/// <param name="Written">This try wrote the entry.</param>
/// <param name="Occupant">When not written: the record at the index now, or null when the index is free.</param>
/// <param name="OccupantRevision">Its modification revision (0 when the index is free).</param>
public sealed record AppendResult(bool Written, byte[]? Occupant, long OccupantRevision)
{
    public static readonly AppendResult Done = new(true, null, 0);
}
