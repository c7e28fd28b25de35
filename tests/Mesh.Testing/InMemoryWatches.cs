using Mesh.Coordinator.Etcd;

namespace Mesh.Testing;

/// <summary>The in-memory twin of <see cref="EtcdWatches"/>: watches on an <see cref="InMemoryEtcd"/>.</summary>
public sealed class InMemoryWatches(InMemoryEtcd etcd) : IWatches
{
    public IAsyncDisposable Start(string prefix, long fromRevision, Func<IReadOnlyList<KeyChange>, ValueTask> onChanges, Func<long, ValueTask>? onCompacted = null) =>
        new InMemoryWatch(etcd, prefix, fromRevision, onChanges, onCompacted);
}
