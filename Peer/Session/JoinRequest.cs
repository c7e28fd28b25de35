namespace Mesh.Peer.Session;

/// <summary>How to join the groups named at start: create them private, and/or redeem an invite code.</summary>
public sealed record JoinRequest(bool Private = false, string? Invite = null)
{
    public static readonly JoinRequest Default = new();
}
