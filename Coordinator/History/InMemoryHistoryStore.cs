namespace Mesh.Coordinator.History;

/// <summary>The in-memory twin of <see cref="EtcdHistoryStore"/>, for fast unit tests of what builds on history.</summary>
public sealed class InMemoryHistoryStore : IHistoryStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SortedDictionary<string, (byte[] Value, long Revision)>> _groups = new();
    private long _revision;
    private long _valuesLeftOut;

    public long ValuesLeftOut => Interlocked.Read(ref _valuesLeftOut);

    /// <summary>How many append calls reached the store (each one is one round trip in the real store).</summary>
    public int AppendCalls { get; private set; }

    /// <summary>When set, the next append fails with this exception (and is then cleared).</summary>
    public Exception? FailNextAppend { get; set; }

    public Task AppendAsync(IReadOnlyList<HistoryEntry> entries, CancellationToken ct)
    {
        lock (_lock)
        {
            AppendCalls++;
            if (FailNextAppend is { } failure)
            {
                FailNextAppend = null;
                return Task.FromException(failure);
            }

            foreach (var entry in entries)
            {
                if (!_groups.TryGetValue(entry.Group, out var history))
                {
                    _groups[entry.Group] = history = new SortedDictionary<string, (byte[], long)>(StringComparer.Ordinal);
                }

                if (history.TryAdd(entry.Name, (entry.Value, _revision + 1)))
                {
                    _revision++;
                }
            }
        }

        return Task.CompletedTask;
    }

    public async Task<long> ReadAsync(string group, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct)
    {
        List<HistoryEntry> all;
        long revision;
        lock (_lock)
        {
            revision = _revision;
            all = _groups.TryGetValue(group, out var history)
                ? history.Select(kv => Entry(group, kv.Key, kv.Value.Value, kv.Value.Revision)).ToList()
                : [];
        }

        foreach (var page in all.Chunk(EtcdHistoryStore.PageSize))
        {
            await onPage(page);
        }

        return revision;
    }

    public async Task<long> ReadSinceAsync(string group, long afterRevision, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct)
    {
        List<HistoryEntry> newer;
        long revision;
        lock (_lock)
        {
            revision = _revision;
            newer = _groups.TryGetValue(group, out var history)
                ? history.Where(kv => kv.Value.Revision > afterRevision).OrderBy(kv => kv.Value.Revision)
                    .Select(kv => Entry(group, kv.Key, kv.Value.Value, kv.Value.Revision)).ToList()
                : [];
        }

        foreach (var page in newer.Chunk(EtcdHistoryStore.PageSize))
        {
            await onPage(page);
        }

        return revision;
    }

    public async Task<long> ReadNamesSinceAsync(string group, long afterRevision, Func<IReadOnlyList<string>, ValueTask> onPage, CancellationToken ct)
    {
        List<string> newer;
        long revision;
        lock (_lock)
        {
            revision = _revision;
            newer = _groups.TryGetValue(group, out var history)
                ? history.Where(kv => kv.Value.Revision > afterRevision).OrderBy(kv => kv.Value.Revision).Select(kv => kv.Key).ToList()
                : [];
        }

        foreach (var page in newer.Chunk(EtcdHistoryStore.PageSize))
        {
            await onPage(page);
        }

        return revision;
    }

    /// <summary>An entry as the real store hands it over: a value larger than any message left out.</summary>
    private HistoryEntry Entry(string group, string name, byte[] value, long revision)
    {
        if (value.Length <= EtcdHistoryStore.MaxValueBytes)
        {
            return new HistoryEntry(group, name, value) { Revision = revision };
        }

        Interlocked.Increment(ref _valuesLeftOut);
        return new HistoryEntry(group, name, []) { Revision = revision };
    }

    public Task<IReadOnlyList<HistoryEntry>> GetAsync(string group, IReadOnlyList<string> names, CancellationToken ct)
    {
        lock (_lock)
        {
            IReadOnlyList<HistoryEntry> found = _groups.TryGetValue(group, out var history)
                ? names.Where(history.ContainsKey).Select(n => Entry(group, n, history[n].Value, history[n].Revision)).ToList()
                : [];
            return Task.FromResult(found);
        }
    }

    public Task<long?> CountAsync(string group, long revision, CancellationToken ct, string? from = null)
    {
        lock (_lock)
        {
            return Task.FromResult<long?>(_groups.TryGetValue(group, out var history)
                ? history.Count(kv => (revision == 0 || kv.Value.Revision <= revision) && (from is null || string.CompareOrdinal(kv.Key, from) >= 0))
                : 0);
        }
    }

    public Task<long> CountBeforeAsync(string group, string bound, CancellationToken ct)
    {
        lock (_lock)
        {
            return Task.FromResult(_groups.TryGetValue(group, out var history) ? (long)history.Keys.Count(name => string.CompareOrdinal(name, bound) < 0) : 0L);
        }
    }

    public Task<long> DeleteBeforeAsync(string group, string bound, CancellationToken ct)
    {
        lock (_lock)
        {
            if (!_groups.TryGetValue(group, out var history))
            {
                return Task.FromResult(0L);
            }

            var beyond = history.Keys.TakeWhile(name => string.CompareOrdinal(name, bound) < 0).ToList();
            foreach (var name in beyond)
            {
                history.Remove(name);
            }

            _revision += beyond.Count > 0 ? 1 : 0;
            return Task.FromResult((long)beyond.Count);
        }
    }
}
