namespace Mesh.Coordinator.Membership;

/// <summary>A member that came online (or changed its record), or went away, in one group.</summary>
/// <param name="PeerId">The peer the change is about.</param>
/// <param name="Record">Its record, or null when it left.</param>
public sealed record MemberChange(string PeerId, MemberRecord? Record)
{
    public bool Left => Record is null;
}
