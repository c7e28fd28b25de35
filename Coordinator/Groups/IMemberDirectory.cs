using Mesh.Coordinator.Membership;

namespace Mesh.Coordinator.Groups;

/// <summary>Who is online in a group: the port the session lists members through (etcd, or an in-memory twin in tests).</summary>
public interface IMemberDirectory
{
    /// <summary>The group's online members (malformed records skipped), and the revision they were read at: a watch from
    /// the next one misses no change.</summary>
    Task<(IReadOnlyList<MemberRecord> Members, long Revision)> ListMembersAsync(string group, CancellationToken ct);
}
