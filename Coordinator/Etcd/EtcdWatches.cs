using Microsoft.Extensions.Logging;

namespace Mesh.Coordinator.Etcd;

/// <summary>Watches on etcd: each one a <see cref="PrefixWatcher"/> on the connection, which resumes across broken
/// streams.</summary>
public sealed class EtcdWatches(EtcdConnection etcd, ILogger log) : IWatches
{
    public IAsyncDisposable Start(string prefix, long fromRevision, Func<IReadOnlyList<KeyChange>, ValueTask> onChanges, Func<long, ValueTask>? onCompacted = null)
    {
        var watcher = new PrefixWatcher(etcd, prefix, fromRevision, onChanges, log, onCompacted);
        watcher.Start();
        return watcher;
    }
}
