using Mesh.Coordinator.Etcd;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary>Starts etcd watches whose changes reach the session loop as inputs, in revision order.</summary>
internal sealed class WatchStarter(SessionCore core, IWatches watches)
{
    /// <summary>Starts following a prefix; its changes reach the session loop as inputs, in revision order.</summary>
    /// <param name="prefix">What to follow.</param>
    /// <param name="fromRevision">The first revision wanted: the one after the read this watch continues.</param>
    /// <param name="toInput">How a batch of changes reaches the session loop.</param>
    /// <param name="onCompacted">Posted, in order with the changes, when revisions the watch needed were compacted.</param>
    /// <param name="reread">Reads the state again when revisions were compacted; run in the background until it
    /// succeeds, its result is posted.</param>
    public IAsyncDisposable Watch(string prefix, long fromRevision, Func<IReadOnlyList<KeyChange>, SessionInput> toInput,
        SessionInput? onCompacted = null, Func<CancellationToken, Task<SessionInput>>? reread = null)
    {
        return watches.Start(prefix, fromRevision, changes =>
        {
            core.Post(toInput(changes));
            return ValueTask.CompletedTask;
        }, onCompacted is null && reread is null ? null : (Func<long, ValueTask>)(compactedAt =>
        {
            if (onCompacted is not null)
            {
                core.Post(onCompacted);
            }

            if (reread is not null)
            {
                _ = RetryUntilDone.RunAsync(async ct => core.Post(await reread(ct)),
                    (reason, _) => core.Post(new SessionInput.Notice($"reading {prefix} again after etcd compacted it failed ({reason}); retrying")),
                    null, core.Stopping);
            }

            return ValueTask.CompletedTask;
        }));
    }
}
