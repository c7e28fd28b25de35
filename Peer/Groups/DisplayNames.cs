using Mesh.Peer.Identity;

namespace Mesh.Peer.Groups;

/// <summary>How members are shown: by name, and where two members of a group share a name, with a short fingerprint
/// of the key the group log pinned for each (<c>amy#5700</c>), so that they never look alike.</summary>
public static class DisplayNames
{
    /// <summary>The first four hex digits of the signing key's fingerprint.</summary>
    public static string ShortFingerprint(ReadOnlySpan<byte> signingKey) => PeerIdentity.FingerprintOf(signingKey)[..4];

    /// <summary>The label of <paramref name="peerId"/> (which calls itself <paramref name="name"/>) in a group with
    /// <paramref name="log"/>: the name the log pinned for it, whatever it calls itself now, with a short fingerprint when
    /// another peer was ever added with that name (a departed member's included).</summary>
    public static string Label(GroupLog? log, string peerId, string name)
    {
        if (log is null || log.SigningKeyOf(peerId) is not { } key)
        {
            return Configuration.Naming.Printable(name);
        }

        var pinned = log.NameOf(peerId) ?? Configuration.Naming.Printable(name);
        return log.PeersNamed(pinned) >= 2 ? $"{pinned}#{ShortFingerprint(key)}" : pinned;
    }

    /// <summary>Finds the member a user means by <paramref name="label"/> (a name, or name#fingerprint); null with the
    /// reason when none or several match.</summary>
    public static LogMember? Find(GroupLog log, string label, out string error)
    {
        var parts = label.Split('#', 2);
        var matches = log.Members.Values
            .Where(m => m.Name == parts[0] && (parts.Length == 1 || ShortFingerprint(m.SigningKey).StartsWith(parts[1], StringComparison.OrdinalIgnoreCase)))
            .ToList();
        error = matches.Count switch
        {
            0 => $"no member of '{log.Group}' is named '{label}'",
            1 => "",
            _ => $"{matches.Count} members of '{log.Group}' are named '{parts[0]}': name one of {string.Join(", ", matches.Select(m => $"{m.Name}#{ShortFingerprint(m.SigningKey)}"))}",
        };
        return matches.Count == 1 ? matches[0] : null;
    }
}
