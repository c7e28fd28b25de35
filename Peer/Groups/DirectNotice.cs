using Mesh.Coordinator;
using Mesh.Peer.Configuration;
using Mesh.Peer.Identity;

namespace Mesh.Peer.Groups;

/// <summary>A notice under <see cref="MeshKeys.DirectPrefix"/> that a direct conversation with this peer exists: its
/// signed genesis. Acted on only when the genesis is a valid direct one naming this peer with its own keys, and the other
/// member is, with the same keys, a member of a group this peer is in (per that group's signed log).</summary>
public static class DirectNotice
{
    /// <summary>A notice is a genesis: far smaller than this; anything larger is refused before it is parsed.</summary>
    public const int MaxBytes = 4096;

    /// <summary>The conversation and its other member, or null with the reason it is not acted on.</summary>
    /// <param name="key">Where the notice was found.</param>
    /// <param name="value">What was there.</param>
    /// <param name="self">This peer.</param>
    /// <param name="shared">The logs of the groups this peer is a member of.</param>
    /// <param name="error">Why it is refused.</param>
    public static (string Group, LogMember Partner)? Check(string key, ReadOnlySpan<byte> value, PeerIdentity self, IEnumerable<GroupLog> shared, out string error)
    {
        if (Read(key, value, self, out error) is not { } found)
        {
            return null;
        }

        if (SharedMember(found.Partner, shared) is null)
        {
            error = $"{found.Partner.PeerId} is not a member of any group this peer is in";
            return null;
        }

        return found;
    }

    /// <summary>The notice's own checks, without the shared group's: the conversation and its other member as the
    /// genesis names them, or null with the reason.</summary>
    public static (string Group, LogMember Partner)? Read(string key, ReadOnlySpan<byte> value, PeerIdentity self, out string error)
    {
        var prefix = MeshKeys.DirectPrefix(self.PeerId);
        var group = key.StartsWith(prefix, StringComparison.Ordinal) ? key[prefix.Length..] : "";
        if (!Naming.IsValidGroup(group) || !group.StartsWith(DirectName.Prefix, StringComparison.Ordinal))
        {
            error = "not under this peer's notices, or no conversation's name";
            return null;
        }

        if (value.Length > MaxBytes)
        {
            error = $"{value.Length} bytes (a notice is at most {MaxBytes})";
            return null;
        }

        if (GroupLog.TryStart(group, value.ToArray(), out error) is not { } log)
        {
            return null;
        }

        if (!log.IsDirect || log.PartnerOf(self.PeerId) is not { } partner)
        {
            error = "not a direct conversation of this peer";
            return null;
        }

        if (log.Members[self.PeerId].CurveKey != self.PublicKeyZ85)
        {
            error = "it names this peer with another Curve key";
            return null;
        }

        error = "";
        return (group, partner);
    }

    /// <summary>The member as a shared group's log pins it, when one does with the same keys.</summary>
    public static LogMember? SharedMember(LogMember partner, IEnumerable<GroupLog> shared) =>
        shared.Where(l => !l.IsDirect).Select(l => l.Members.GetValueOrDefault(partner.PeerId))
            .FirstOrDefault(m => m is not null && m.SigningKey.AsSpan().SequenceEqual(partner.SigningKey) && m.CurveKey == partner.CurveKey);
}
