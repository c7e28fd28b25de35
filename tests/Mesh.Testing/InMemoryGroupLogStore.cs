using System.Globalization;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;

namespace Mesh.Testing;

/// <summary>The in-memory twin of <see cref="GroupLogStore"/>, on an <see cref="InMemoryEtcd"/>: the same transactions
/// (create-only entries compared by modification revision, what holds the index answered on a failed try, an invite
/// redeemed once) and the same bound on values read.</summary>
public sealed class InMemoryGroupLogStore(InMemoryEtcd etcd) : IGroupLogStore
{
    private int _tries;

    /// <summary>On a store of its own.</summary>
    public InMemoryGroupLogStore()
        : this(new InMemoryEtcd())
    {
    }

    public InMemoryEtcd Etcd { get; } = etcd;

    /// <summary>Called before each append is judged, with the try (an adversary writing in between).</summary>
    public Action<LogAppend>? BeforeTry { get; set; }

    /// <summary>Appends judged so far.</summary>
    public int Tries => Volatile.Read(ref _tries);

    public Task<(byte[]? Genesis, IReadOnlyList<(long Index, byte[] Value)> Entries, long Revision)> ReadAsync(string group, CancellationToken ct)
    {
        var prefix = MeshKeys.LogPrefix(group);
        return Task.FromResult(Etcd.Transact(txn =>
        {
            var entries = new List<(long, byte[])>();
            foreach (var kv in txn.Range(prefix, limit: GroupLogStore.MaxEntries))
            {
                if (long.TryParse(kv.Key.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    entries.Add((index, Bounded(kv.Value)));
                }
            }

            return (txn.Get(MeshKeys.Group(group))?.Value, (IReadOnlyList<(long, byte[])>)entries, txn.Revision);
        }));
    }

    public Task<IReadOnlyList<KeyChange>> ReadAfterAsync(string group, long after, CancellationToken ct)
    {
        var (values, _) = Etcd.Range(MeshKeys.LogPrefix(group), from: MeshKeys.LogEntry(group, after + 1), limit: 1000);
        return Task.FromResult<IReadOnlyList<KeyChange>>([.. values.Select(kv => new KeyChange(kv.Key, false, Bounded(kv.Value), kv.ModRevision, 0))]);
    }

    public async Task<bool> TryAppendAsync(string group, long index, byte[] record, IReadOnlyList<(string Key, byte[] Value)> alongside, CancellationToken ct) =>
        (await TryAppendAsync(new LogAppend(group, index, record, alongside, [], 0), ct)).Written;

    public Task<AppendResult> TryAppendAsync(LogAppend append, CancellationToken ct)
    {
        if (append.Alongside.Count + append.Following.Count > GroupLogStore.MaxAlongside)
        {
            throw new ArgumentException($"at most {GroupLogStore.MaxAlongside} keys go with an entry", nameof(append));
        }

        BeforeTry?.Invoke(append);
        Interlocked.Increment(ref _tries);
        var key = MeshKeys.LogEntry(append.Group, append.Index);
        return Task.FromResult(Etcd.Transact(txn =>
        {
            var held = txn.Get(key);
            if ((held?.ModRevision ?? 0) != append.Occupant || append.Following.Any(f => txn.Get(MeshKeys.LogEntry(append.Group, f.Index)) is not null))
            {
                return new AppendResult(false, held?.Value, held?.ModRevision ?? 0);
            }

            txn.Put(key, append.Record);
            foreach (var (index, record) in append.Following)
            {
                txn.Put(MeshKeys.LogEntry(append.Group, index), record);
            }

            foreach (var (k, v) in append.Alongside)
            {
                txn.Put(k, v);
            }

            return AppendResult.Done;
        }));
    }

    public Task RepairAsync(string group, long index, byte[] record, CancellationToken ct) => PutAsync(MeshKeys.LogEntry(group, index), record, ct);

    public Task PutAsync(string key, byte[] value, CancellationToken ct)
    {
        Etcd.Put(key, value);
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string key, CancellationToken ct)
    {
        Etcd.Delete(key);
        return Task.CompletedTask;
    }

    public Task<(byte[] Value, long ModRevision)?> GetAsync(string key, CancellationToken ct) =>
        Task.FromResult(Etcd.Get(key) is { } kv ? (kv.Value, kv.ModRevision) : ((byte[], long)?)null);

    public Task<(IReadOnlyList<(string Key, byte[] Value)> Values, long Revision)> ListAsync(string prefix, int limit, CancellationToken ct)
    {
        var (values, revision) = Etcd.Range(prefix, limit: limit);
        return Task.FromResult<(IReadOnlyList<(string, byte[])>, long)>(([.. values.Select(kv => (kv.Key, Bounded(kv.Value)))], revision));
    }

    public Task<bool> CreateLeasedAsync(string key, byte[] value, TimeSpan ttl, CancellationToken ct)
    {
        var lease = Etcd.GrantLease(ttl);
        return Task.FromResult(Etcd.Transact(txn =>
        {
            if (txn.Get(key) is not null)
            {
                return false;
            }

            txn.Put(key, value, lease);
            return true;
        }));
    }

    public Task<bool> RedeemAsync(string inviteKey, long inviteRevision, string requestKey, byte[] request, CancellationToken ct) =>
        Task.FromResult(Etcd.Transact(txn =>
        {
            if ((txn.Get(inviteKey)?.ModRevision ?? 0) != inviteRevision)
            {
                return false;
            }

            txn.Delete(inviteKey);
            txn.Put(requestKey, request);
            return true;
        }));

    /// <summary>A value as the real store hands it over: one larger than any record comes back empty.</summary>
    private static byte[] Bounded(byte[] value) => value.Length > GroupLogStore.MaxValueBytes ? [] : value;
}
