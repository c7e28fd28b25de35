using Mesh.Coordinator;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.Membership;

namespace Mesh.Testing;

/// <summary>The in-memory twin of <see cref="GroupDirectory"/>'s member list, on an <see cref="InMemoryEtcd"/>.</summary>
public sealed class InMemoryMemberDirectory(InMemoryEtcd etcd) : IMemberDirectory
{
    public Task<(IReadOnlyList<MemberRecord> Members, long Revision)> ListMembersAsync(string group, CancellationToken ct)
    {
        var (values, revision) = etcd.Range(MeshKeys.MembersPrefix(group));
        // A value larger than any record is read as empty by the real directory, and so skipped.
        IReadOnlyList<MemberRecord> members = [.. values
            .Where(kv => kv.Value.Length <= GroupDirectory.MaxValueBytes)
            .Select(kv => MemberRecord.TryParse(kv.Value))
            .OfType<MemberRecord>()];
        return Task.FromResult((members, revision));
    }
}
