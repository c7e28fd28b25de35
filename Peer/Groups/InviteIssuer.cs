using Mesh.Coordinator;
using Mesh.Coordinator.Groups;
using Mesh.Peer.Configuration;
using Mesh.Peer.Identity;

namespace Mesh.Peer.Groups;

/// <summary>Makes invites: a fresh code for a group this peer is a member of, and its signed record in etcd under a
/// lease of the invite's lifetime. The one way both <c>mesh invite G</c> and a session's <c>/invite</c> make them.</summary>
public sealed class InviteIssuer(IGroupLogStore store, PeerIdentity identity, TimeProvider time)
{
    /// <summary>How long an invite may be used unless told otherwise.</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(24);

    public static readonly TimeSpan MinLifetime = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(30);

    /// <summary>An invite's lifetime as typed after <c>--ttl</c> (<c>90s</c>, <c>30m</c>, <c>24h</c>, <c>7d</c>); a usage
    /// error naming the bounds otherwise.</summary>
    public static TimeSpan ParseLifetime(string text) => Durations.Parse("--ttl", text, MinLifetime, MaxLifetime);

    /// <summary>Throws unless <paramref name="peerId"/> is a member of the group as <paramref name="log"/> holds it: only
    /// members invite, and an invite of anyone else would be refused by every member anyway.</summary>
    public static void RequireMember(GroupLog log, string peerId)
    {
        if (!log.Members.ContainsKey(peerId))
        {
            throw new MeshException($"this home is no longer a member of '{log.Group}' (it left or was removed): it cannot invite");
        }
    }

    /// <summary>Makes an invite to <paramref name="group"/> (whose log begins with <paramref name="genesisHash"/>) and
    /// stores its record; the caller checked membership (<see cref="RequireMember"/>) against the log it trusts.</summary>
    public async Task<IssuedInvite> IssueAsync(string group, string genesisHash, TimeSpan lifetime, CancellationToken ct)
    {
        using var invite = Invite.Create(genesisHash, group);
        var expires = time.GetUtcNow() + lifetime;
        var record = InviteRecord.Create(group, invite, expires.ToUnixTimeMilliseconds(), identity);
        if (!await store.CreateLeasedAsync(MeshKeys.Invite(group, invite.Id), record, lifetime, ct))
        {
            throw new MeshException("an invite with that id exists already (try again)");
        }

        return new IssuedInvite(group, invite.Code, expires);
    }
}
