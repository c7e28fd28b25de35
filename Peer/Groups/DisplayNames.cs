using Mesh.Peer.Identity;

namespace Mesh.Peer.Groups;

/// <summary>How members are shown: by name, and where two members of a group share a name, with a short fingerprint
/// of the key the group log pinned for each (<c>amy#5700</c>), so that they never look alike.</summary>
public static class DisplayNames
{
    /// <summary>The first four hex digits of the signing key's fingerprint.</summary>
    public static string ShortFingerprint(ReadOnlySpan<byte> signingKey) => PeerIdentity.FingerprintOf(signingKey)[..4];

    /// <summary>The label of <paramref name="peerId"/> speaking as <paramref name="name"/> in a group with
    /// <paramref name="log"/>: the plain name unless another member of the log uses it, or the name is not the one the
    /// log holds for that peer.</summary>
    public static string Label(GroupLog? log, string peerId, string name)
    {
        if (log is null || log.SigningKeyOf(peerId) is not { } key)
        {
            return name;
        }

        // Another member goes by this name: two if the peer itself was added with it, one if it was not.
        var own = log.Members.TryGetValue(peerId, out var member) && member.Name == name;
        var shared = log.MembersNamed(name) >= (own ? 2 : 1);
        return shared ? $"{name}#{ShortFingerprint(key)}" : name;
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
