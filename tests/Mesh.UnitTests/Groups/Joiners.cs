using Mesh.Peer.Groups;
using Mesh.Peer.Identity;

namespace Mesh.UnitTests.Groups;

/// <summary>Newcomers as a joiner offers itself: its keys, its name and its own consent to the group of the log.</summary>
internal static class Joiners
{
    public static Newcomer Of(PeerIdentity joiner, string name, GroupLog log, string? invite = null) =>
        new(new LogMember(joiner.PeerId, joiner.SigningPublicKey, joiner.PublicKeyZ85, name, Admin: false), invite,
            JoinConsent.Sign(joiner, log.Group, log.GenesisHash, name));
}
