using Mesh.Coordinator.Membership;
using Mesh.Peer.Groups;

namespace Mesh.Peer.Session;

/// <summary>What filing a member record did.</summary>
internal enum MemberSort
{
    /// <summary>A member already followed; nothing changed that matters to its link.</summary>
    Member,

    /// <summary>A member not followed before.</summary>
    NewMember,

    /// <summary>A member followed before that came back from another endpoint or with another Curve key: its old link
    /// is useless.</summary>
    Moved,

    /// <summary>A peer the log does not hold (and never removed): one an open group may admit.</summary>
    Candidate,

    /// <summary>Not signed by the peer it names: ignored.</summary>
    NotSigned,

    /// <summary>A member's record with keys other than those the group log pinned: ignored.</summary>
    KeysNotTheLogs,

    /// <summary>A peer the log removed (or that left): ignored.</summary>
    Departed,

    /// <summary>A signed record of a peer the log could not add (a name or keys it cannot hold, no consent of its own to
    /// this group): ignored, so that it never reaches an admission.</summary>
    Unfit,
}

/// <summary>The online members of one group and the peers that could be admitted, from their presence records in
/// etcd, which anyone can write: a record counts only if its peer signed it and, for a member, it carries the keys the
/// group log pinned. Session loop only.</summary>
internal sealed class MemberTable(string group)
{
    private readonly Dictionary<string, MemberRecord> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MemberRecord> _candidates = new(StringComparer.Ordinal);

    /// <summary>Online members other than this peer, by peer id.</summary>
    public IReadOnlyDictionary<string, MemberRecord> Members => _members;

    /// <summary>Signed records of online peers that are not members (yet).</summary>
    public IReadOnlyDictionary<string, MemberRecord> Candidates => _candidates;

    /// <summary>Files a presence record against the group log.</summary>
    public MemberSort Sort(MemberRecord record, GroupLog log)
    {
        if (!MemberSignature.IsValid(record, group))
        {
            return MemberSort.NotSigned;
        }

        var peerId = record.PeerId;
        if (MemberSignature.IsMember(record, log))
        {
            _candidates.Remove(peerId);
            var known = _members.TryGetValue(peerId, out var before);
            _members[peerId] = record;
            if (!known)
            {
                return MemberSort.NewMember;
            }

            return before!.Endpoint != record.Endpoint || before.PublicKeyZ85 != record.PublicKeyZ85 ? MemberSort.Moved : MemberSort.Member;
        }

        if (log.Members.ContainsKey(peerId))
        {
            return MemberSort.KeysNotTheLogs;
        }

        if (log.WasRemoved(peerId))
        {
            return MemberSort.Departed;
        }

        if (Newcomer.TryFrom(record, log, out _) is null)
        {
            _candidates.Remove(peerId);
            return MemberSort.Unfit;
        }

        _candidates[peerId] = record;
        return MemberSort.Candidate;
    }

    /// <summary>Files every record held again against <paramref name="log"/> (the log went on another way after a fork):
    /// the ids of members followed before and no more.</summary>
    public IReadOnlyList<string> Refile(GroupLog log)
    {
        var before = _members.Keys.ToList();
        var records = _members.Values.Concat(_candidates.Values).ToList();
        _members.Clear();
        _candidates.Clear();
        foreach (var record in records)
        {
            Sort(record, log);
        }

        return before.Where(p => !_members.ContainsKey(p)).ToList();
    }

    /// <summary>The peer's presence is gone (its record deleted or its lease expired): the member record it had, if any.</summary>
    public MemberRecord? Gone(string peerId)
    {
        _candidates.Remove(peerId);
        return _members.Remove(peerId, out var record) ? record : null;
    }

    /// <summary>The log removed the member (or it left): it is followed no more, whatever its record says.</summary>
    public MemberRecord? Removed(string peerId) => _members.Remove(peerId, out var record) ? record : null;

    /// <summary>The log admitted a candidate: its record, to be filed again as a member's.</summary>
    public MemberRecord? Admitted(string peerId) => _candidates.Remove(peerId, out var record) ? record : null;
}
