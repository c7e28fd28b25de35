using Mesh.Coordinator;
using Mesh.Coordinator.History;

namespace Mesh.Testing;

/// <summary>The in-memory twin of <see cref="TrimClaims"/>, on an <see cref="InMemoryEtcd"/>.</summary>
public sealed class InMemoryTrimClaims(InMemoryEtcd etcd) : ITrimClaims
{
    public Task<long> ReadAsync(string group, CancellationToken ct) => Task.FromResult(etcd.Get(MeshKeys.TrimClaim(group))?.ModRevision ?? 0);

    public Task<bool> TryTakeAsync(string group, long seenRevision, string by, bool force, CancellationToken ct)
    {
        var key = MeshKeys.TrimClaim(group);
        return Task.FromResult(etcd.Transact(txn =>
        {
            if (!force && (txn.Get(key)?.ModRevision ?? 0) != seenRevision)
            {
                return false;
            }

            txn.Put(key, System.Text.Encoding.UTF8.GetBytes(by));
            return true;
        }));
    }
}
