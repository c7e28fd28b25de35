namespace Mesh.Peer.Groups;

/// <summary>An invite made and stored: the code to hand to the invitee, and when its record in etcd expires.</summary>
public sealed record IssuedInvite(string Group, string Code, DateTimeOffset ExpiresAt);
