using Mesh.Coordinator.History;

namespace Mesh.UnitTests.Session.Harness;

/// <summary>A peer's history store through which the harness can hold back the reads of a whole history (a slow link
/// to etcd at a join: they go on when the gate opens) or make them fail (a cut).</summary>
internal sealed class GatedHistory(IHistoryStore inner, bool closed) : IHistoryStore
{
    private volatile TaskCompletionSource _open = Gate(closed);

    private static TaskCompletionSource Gate(bool closed)
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!closed)
        {
            open.SetResult();
        }

        return open;
    }

    private volatile bool _cut;

    /// <summary>Reads of a whole history fail as an unreachable etcd does, until <see cref="Heal"/>.</summary>
    public void Cut() => _cut = true;

    public void Heal() => _cut = false;

    /// <summary>How many reads failed while cut.</summary>
    public int Failed => _failed;

    private int _failed;

    private async Task Pass(CancellationToken ct)
    {
        await _open.Task.WaitAsync(ct);
        if (_cut)
        {
            Interlocked.Increment(ref _failed);
            throw new Mesh.Coordinator.Etcd.EtcdUnavailableException("etcd unreachable at in-memory (cut)");
        }
    }

    public void Close() => _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _open.TrySetResult();

    public async Task<long> ReadAsync(string group, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct)
    {
        await Pass(ct);
        return await inner.ReadAsync(group, onPage, ct);
    }

    public async Task<long> ReadInKeyOrderAsync(string group, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct)
    {
        await Pass(ct);
        return await inner.ReadInKeyOrderAsync(group, onPage, ct);
    }

    public async Task<long> ReadSinceAsync(string group, long afterRevision, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct)
    {
        await Pass(ct);
        return await inner.ReadSinceAsync(group, afterRevision, onPage, ct);
    }

    public long ValuesLeftOut => inner.ValuesLeftOut;

    private readonly TaskCompletionSource _writesHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _holdingWrites;

    /// <summary>Holds every write from now on, for good (a peer whose history writes hang until it dies).</summary>
    public void HoldWrites() => _holdingWrites = true;

    public async Task AppendAsync(IReadOnlyList<HistoryEntry> entries, CancellationToken ct)
    {
        if (_holdingWrites)
        {
            await _writesHeld.Task.WaitAsync(ct);
        }

        await inner.AppendAsync(entries, ct);
    }

    public async Task<bool> ReplaceAsync(HistoryEntry current, HistoryEntry replacement, CancellationToken ct)
    {
        if (_holdingWrites)
        {
            await _writesHeld.Task.WaitAsync(ct);
        }

        return await inner.ReplaceAsync(current, replacement, ct);
    }

    public Task<long> ReadNamesSinceAsync(string group, long afterRevision, Func<IReadOnlyList<string>, ValueTask> onPage, CancellationToken ct) =>
        inner.ReadNamesSinceAsync(group, afterRevision, onPage, ct);

    public Task<IReadOnlyList<HistoryEntry>> GetAsync(string group, IReadOnlyList<string> names, CancellationToken ct) => inner.GetAsync(group, names, ct);

    public Task<long?> CountAsync(string group, long revision, CancellationToken ct, string? from = null) => inner.CountAsync(group, revision, ct, from);

    public Task<long> DeleteBeforeAsync(string group, string bound, CancellationToken ct) => inner.DeleteBeforeAsync(group, bound, ct);

    public Task<long> CountBeforeAsync(string group, string bound, CancellationToken ct) => inner.CountBeforeAsync(group, bound, ct);
}
