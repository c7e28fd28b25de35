using Mesh.Coordinator;
using Mesh.Coordinator.History;

namespace Mesh.Testing;

/// <summary>The in-memory twin of <see cref="EtcdHistoryStore"/>, on an <see cref="InMemoryEtcd"/>, for fast unit tests
/// of what builds on history: appends create-only in one transaction, reads as one snapshot handed over in pages,
/// counts at a revision (null once compacted), deletes in batches of <see cref="EtcdHistoryStore.DeleteBatch"/>.</summary>
public sealed class InMemoryHistoryStore(InMemoryEtcd etcd) : IHistoryStore
{
    private long _valuesLeftOut;
    private int _appendCalls;
    private Exception? _failNextAppend;

    /// <summary>On a store of its own.</summary>
    public InMemoryHistoryStore()
        : this(new InMemoryEtcd())
    {
    }

    public InMemoryEtcd Etcd { get; } = etcd;

    public long ValuesLeftOut => Interlocked.Read(ref _valuesLeftOut);

    /// <summary>How many append calls reached the store (each one is one round trip in the real store).</summary>
    public int AppendCalls => Volatile.Read(ref _appendCalls);

    /// <summary>When set, the next append fails with this exception (and is then cleared).</summary>
    public Exception? FailNextAppend
    {
        get => Volatile.Read(ref _failNextAppend);
        set => Volatile.Write(ref _failNextAppend, value);
    }

    public Task AppendAsync(IReadOnlyList<HistoryEntry> entries, CancellationToken ct)
    {
        Interlocked.Increment(ref _appendCalls);
        if (Interlocked.Exchange(ref _failNextAppend, null) is { } failure)
        {
            return Task.FromException(failure);
        }

        if (entries.Count > EtcdHistoryStore.MaxOpsPerTransaction)
        {
            throw new ArgumentException($"at most {EtcdHistoryStore.MaxOpsPerTransaction} entries per append", nameof(entries));
        }

        Etcd.Transact(txn =>
        {
            foreach (var entry in entries)
            {
                var key = Key(entry.Group, entry.Name);
                if (txn.Get(key) is null)
                {
                    txn.Put(key, entry.Value);
                }
            }

            return entries.Count;
        });
        return Task.CompletedTask;
    }

    public Task<bool> ReplaceAsync(HistoryEntry current, HistoryEntry replacement, CancellationToken ct) =>
        Task.FromResult(Etcd.Transact(txn =>
        {
            var key = Key(current.Group, current.Name);
            if (txn.Get(key) is not { } held || held.ModRevision != current.Revision)
            {
                return false;
            }

            if (key != Key(replacement.Group, replacement.Name))
            {
                txn.Delete(key);
            }

            txn.Put(Key(replacement.Group, replacement.Name), replacement.Value);
            return true;
        }));

    public async Task<long> ReadAsync(string group, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct)
    {
        var (values, revision) = Etcd.Range(MeshKeys.HistoryPrefix(group));
        await HandOverAsync(values.Select(kv => Entry(group, kv)).ToList(), onPage);
        return revision;
    }

    /// <remarks>One snapshot: the twin never compacts under a read.</remarks>
    public Task<long> ReadInKeyOrderAsync(string group, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct) =>
        ReadAsync(group, onPage, ct);

    public async Task<long> ReadSinceAsync(string group, long afterRevision, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct)
    {
        var (values, revision) = Etcd.Range(MeshKeys.HistoryPrefix(group));
        await HandOverAsync(WrittenAfter(values, afterRevision).Select(kv => Entry(group, kv)).ToList(), onPage);
        return revision;
    }

    public async Task<long> ReadNamesSinceAsync(string group, long afterRevision, Func<IReadOnlyList<string>, ValueTask> onPage, CancellationToken ct)
    {
        var (values, revision) = Etcd.Range(MeshKeys.HistoryPrefix(group));
        await HandOverAsync(WrittenAfter(values, afterRevision).Select(kv => Name(group, kv)).ToList(), onPage);
        return revision;
    }

    public Task<IReadOnlyList<HistoryEntry>> GetAsync(string group, IReadOnlyList<string> names, CancellationToken ct) =>
        Task.FromResult(Etcd.Transact(txn => (IReadOnlyList<HistoryEntry>)[.. names.Select(n => txn.Get(Key(group, n))).OfType<StoredValue>().Select(kv => Entry(group, kv))]));

    public Task<long?> CountAsync(string group, long revision, CancellationToken ct, string? from = null)
    {
        try
        {
            return Task.FromResult<long?>(Etcd.Range(MeshKeys.HistoryPrefix(group), revision, from: Key(group, from ?? "")).Values.Count);
        }
        catch (RevisionCompactedException)
        {
            return Task.FromResult<long?>(null);
        }
    }

    public Task<long> CountBeforeAsync(string group, string bound, CancellationToken ct) =>
        Task.FromResult((long)Etcd.Range(MeshKeys.HistoryPrefix(group), before: Key(group, bound)).Values.Count);

    public Task<long> DeleteBeforeAsync(string group, string bound, CancellationToken ct)
    {
        long deleted = 0;
        while (true)
        {
            // One transaction, so one revision, per batch, as the real store deletes.
            var batch = Etcd.Transact(txn =>
            {
                var keys = txn.Range(MeshKeys.HistoryPrefix(group), before: Key(group, bound), limit: EtcdHistoryStore.DeleteBatch);
                foreach (var kv in keys)
                {
                    txn.Delete(kv.Key);
                }

                return keys.Count;
            });
            deleted += batch;
            if (batch < EtcdHistoryStore.DeleteBatch)
            {
                return Task.FromResult(deleted);
            }
        }
    }

    private static string Key(string group, string name) => MeshKeys.HistoryPrefix(group) + name;

    private static string Name(string group, StoredValue kv) => kv.Key[MeshKeys.HistoryPrefix(group).Length..];

    /// <summary>The entries written after a revision, in the order they were written (by name within one revision).</summary>
    private static IEnumerable<StoredValue> WrittenAfter(IEnumerable<StoredValue> values, long afterRevision) =>
        values.Where(kv => kv.ModRevision > afterRevision).OrderBy(kv => kv.ModRevision).ThenBy(kv => kv.Key, StringComparer.Ordinal);

    private static async Task HandOverAsync<T>(List<T> all, Func<IReadOnlyList<T>, ValueTask> onPage)
    {
        foreach (var page in all.Chunk(EtcdHistoryStore.PageSize))
        {
            await onPage(page);
        }
    }

    /// <summary>An entry as the real store hands it over: a value larger than any message left out.</summary>
    private HistoryEntry Entry(string group, StoredValue kv)
    {
        if (kv.Value.Length <= EtcdHistoryStore.MaxValueBytes)
        {
            return new HistoryEntry(group, Name(group, kv), kv.Value) { Revision = kv.ModRevision };
        }

        Interlocked.Increment(ref _valuesLeftOut);
        return new HistoryEntry(group, Name(group, kv), []) { Revision = kv.ModRevision };
    }
}
