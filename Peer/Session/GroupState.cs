using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.Membership;
using Mesh.Peer.Crypto;

namespace Mesh.Peer.Session;

/// <summary>What the session knows about one joined group. Session loop only.</summary>
internal sealed class GroupState(string name)
{
    public string Name { get; } = name;

    /// <summary>Online members other than this peer, by peer id.</summary>
    public Dictionary<string, MemberRecord> Members { get; } = new(StringComparer.Ordinal);

    /// <summary>Members known at join whose hello has not arrived yet; ready waits for them (up to a timeout).</summary>
    public HashSet<string> AwaitingLinks { get; } = new(StringComparer.Ordinal);

    public MessageOrderer Orderer { get; } = new();

    /// <summary>The group's directory entry (policy, key check).</summary>
    public GroupRecord? Record { get; set; }

    /// <summary>The group's content key; null while waiting to be admitted.</summary>
    public GroupKey? Key { get; set; }

    /// <summary>Follows this peer's key grant while it waits to be admitted.</summary>
    public PrefixWatcher? GrantWatch { get; set; }

    public bool HistoryLoaded { get; set; }

    public bool Ready { get; set; }

    public long JoinStartedMs { get; set; }

    public PrefixWatcher? MembersWatch { get; set; }

    public PrefixWatcher? HistoryWatch { get; set; }
}
