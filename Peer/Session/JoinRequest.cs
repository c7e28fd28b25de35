namespace Mesh.Peer.Session;

/// <summary>How to join the groups named at start: create them private, redeem an invite code, and/or create afresh
/// a group that etcd no longer has although this home was in it (<paramref name="Recreate"/>); a group created here
/// keeps <paramref name="Keep"/> of history (<see cref="Groups.Retention.Default"/> when not given). <paramref name="Direct"/>:
/// the group is the direct conversation with that member, as a log both are in pins it.</summary>
public sealed record JoinRequest(bool Private = false, string? Invite = null, bool Recreate = false, Groups.Retention? Keep = null, Groups.LogMember? Direct = null)
{
    public static readonly JoinRequest Default = new();
}
