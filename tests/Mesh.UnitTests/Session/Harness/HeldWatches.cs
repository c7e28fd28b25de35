using Mesh.Coordinator.Etcd;

namespace Mesh.UnitTests.Session.Harness;

/// <summary>Watches through which the harness can hold back what one kind of key brings (a peer's key grants): held
/// changes are delivered, in order, when released. How a test makes a window that etcd's timing makes by chance.</summary>
internal sealed class HeldWatches(IWatches inner, Func<string, bool> holds) : IWatches
{
    private readonly Lock _lock = new();
    private readonly List<Func<Task>> _held = [];
    private bool _holding;
    private bool _all;

    public IAsyncDisposable Start(string prefix, long fromRevision, Func<IReadOnlyList<KeyChange>, ValueTask> onChanges, Func<long, ValueTask>? onCompacted = null) =>
        inner.Start(prefix, fromRevision, changes =>
        {
            lock (_lock)
            {
                if (_holding && (_all || holds(prefix)))
                {
                    _held.Add(() => onChanges(changes).AsTask());
                    return ValueTask.CompletedTask;
                }
            }

            return onChanges(changes);
        }, onCompacted);

    public void Hold()
    {
        lock (_lock)
        {
            _holding = true;
        }
    }

    /// <summary>Holds back what every watch brings (a peer that hears nothing from etcd while its writes still land).</summary>
    public void HoldAll()
    {
        lock (_lock)
        {
            _holding = true;
            _all = true;
        }
    }

    /// <summary>Stops holding and delivers what was held, in order.</summary>
    public async Task ReleaseAsync()
    {
        List<Func<Task>> held;
        lock (_lock)
        {
            _holding = false;
            _all = false;
            held = [.. _held];
            _held.Clear();
        }

        foreach (var deliver in held)
        {
            await deliver();
        }
    }
}
