using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Peer.Groups;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Security;

/// <summary>The attacker's own access to etcd, as any Mesh user has it: the group log's keys read and written directly.</summary>
internal sealed class EtcdWriter(EtcdProcess etcd) : IDisposable
{
    public EtcdConnection Connection { get; } = new([etcd.Url]);

    public GroupLogStore Store => field ??= new GroupLogStore(Connection);

    /// <summary>A group's log as etcd holds it now, checked as a newcomer would.</summary>
    public async Task<GroupLog> LogAsync(string group)
    {
        var (genesis, entries, _) = await Store.ReadAsync(group, CancellationToken.None);
        return GroupLogSync.Merge(group, null, genesis, entries).Log ?? throw new InvalidOperationException($"no valid log of '{group}' in etcd");
    }

    public void Dispose() => Connection.Dispose();
}
