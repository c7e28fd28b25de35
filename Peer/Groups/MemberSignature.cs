using Mesh.Coordinator.Membership;
using Mesh.Peer.Identity;

namespace Mesh.Peer.Groups;

/// <summary>Signs a peer's own member records and checks others': an etcd writer cannot change a member's name, Curve
/// key or endpoint, nor move a record to another group, without the signature failing.</summary>
public static class MemberSignature
{
    public static MemberRecord Sign(MemberRecord record, PeerIdentity identity) =>
        record with { Signature = Convert.ToBase64String(identity.Sign(record with { Signature = null } is var r ? r.SignedBytes() : [])) };

    /// <summary>Whether the record is signed by the key it names, that key is its peer id's, and it is for
    /// <paramref name="group"/>.</summary>
    public static bool IsValid(MemberRecord record, string group)
    {
        if (record.Group != group || record.Signature is null)
        {
            return false;
        }

        try
        {
            var key = Convert.FromBase64String(record.SigningKey);
            return PeerIdentity.DerivePeerId(key) == record.PeerId
                && PeerIdentity.Verify(key, record.SignedBytes(), Convert.FromBase64String(record.Signature));
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Whether a valid record is of a current member of <paramref name="log"/>, with the keys the log pinned.</summary>
    public static bool IsMember(MemberRecord record, GroupLog log) =>
        log.Members.TryGetValue(record.PeerId, out var member) && member.CurveKey == record.PublicKeyZ85
        && Convert.ToBase64String(member.SigningKey) == record.SigningKey;
}
