using Mesh.Coordinator.Etcd;

namespace Mesh.Testing;

/// <summary>One watch on <see cref="InMemoryEtcd"/>, as <see cref="PrefixWatcher"/> behaves on etcd: changes from a
/// revision on, in revision order, each batch awaited before the next, off the writer's thread; a compacted start is
/// reported and the watch goes on from the oldest revision kept.</summary>
internal sealed class InMemoryWatch : IAsyncDisposable
{
    /// <summary>How long a watch waits after its callback failed before it hands the same changes over again.</summary>
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    private readonly InMemoryEtcd _etcd;
    private readonly string _prefix;
    private readonly Func<IReadOnlyList<KeyChange>, ValueTask> _onChanges;
    private readonly Func<long, ValueTask>? _onCompacted;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _next;

    public InMemoryWatch(InMemoryEtcd etcd, string prefix, long fromRevision, Func<IReadOnlyList<KeyChange>, ValueTask> onChanges, Func<long, ValueTask>? onCompacted)
    {
        _etcd = etcd;
        _prefix = prefix;
        _onChanges = onChanges;
        _onCompacted = onCompacted;
        // etcd takes 0 for "from the next revision on".
        _next = fromRevision > 0 ? fromRevision : etcd.Revision + 1;
        etcd.Changed += Wake;
        _loop = Task.Run(RunAsync);
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }
    }

    private async Task RunAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (_etcd.Reachable)
                {
                    var (changes, compacted) = _etcd.ChangesFrom(_prefix, _next);
                    if (compacted > 0)
                    {
                        _next = compacted;
                        if (_onCompacted is not null)
                        {
                            await _onCompacted(compacted);
                        }

                        continue;
                    }

                    if (changes.Count > 0)
                    {
                        await _onChanges(changes);
                        _next = changes[^1].ModRevision + 1;
                        continue;
                    }
                }

                await _wake.WaitAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // As the real watcher: the same changes are handed over again after a pause.
                try
                {
                    await Task.Delay(RetryDelay, _etcd.Time, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _etcd.Changed -= Wake;
        await _stop.CancelAsync();
        await _loop.ConfigureAwait(false);
        // The semaphore stays: a change raised just before the unsubscription may still release it.
        _stop.Dispose();
    }
}
