using Mesh.Peer.Configuration;

namespace Mesh.Peer.Groups;

/// <summary>Who <c>/msg NAME</c> means: a member of a group this peer is in (not a direct conversation's), found by its
/// name as the group logs pin it or by its peer id; the one-line problem when there is none, or more than one, or it is
/// this peer.</summary>
public static class DirectPartner
{
    public static LogMember? Resolve(string name, string selfId, string selfName, IEnumerable<GroupLog> logs, out string problem)
    {
        var wanted = name.StartsWith('@') ? name[1..] : name;
        var list = logs.Where(l => l.Members.ContainsKey(selfId)).ToList();
        var matches = list.Where(l => !l.IsDirect)
            .SelectMany(l => l.Members.Values)
            .Where(m => m.Name == wanted || m.PeerId == wanted)
            .GroupBy(m => m.PeerId, StringComparer.Ordinal)
            .Select(g => g.First())
            .ToList();
        var others = matches.Where(m => m.PeerId != selfId).ToList();
        if (others.Count == 1)
        {
            problem = "";
            return others[0];
        }

        problem = others.Count > 1
            ? $"'{Naming.Printable(wanted)}' is ambiguous: {others.Count} members of your groups have that name "
                + $"(peer ids {string.Join(", ", others.Select(m => m.PeerId).Order(StringComparer.Ordinal))}); write the peer id instead"
            : matches.Count > 0 || wanted == selfId || wanted == selfName
                ? "that is you: a direct conversation is with someone else"
                : $"no member named '{Naming.Printable(wanted)}' in the groups you are in";
        return null;
    }
}
