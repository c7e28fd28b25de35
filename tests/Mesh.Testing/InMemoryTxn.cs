namespace Mesh.Testing;

/// <summary>One transaction on <see cref="InMemoryEtcd"/>: its reads see the store as it was when it began (as etcd's
/// compares do); its writes are applied together when it ends, at one new revision (none when nothing changed).</summary>
public sealed class InMemoryTxn
{
    private readonly InMemoryEtcd _etcd;

    internal InMemoryTxn(InMemoryEtcd etcd, long revision)
    {
        _etcd = etcd;
        Revision = revision;
    }

    /// <summary>The revision the transaction reads at: the store's current one.</summary>
    public long Revision { get; }

    /// <summary>The writes to apply, in order; a null value deletes.</summary>
    internal List<(string Key, byte[]? Value, long Lease)> Writes { get; } = [];

    public StoredValue? Get(string key) => _etcd.ValueAtLocked(key, Revision);

    /// <summary>The keys that start with <paramref name="prefix"/>, in key order, from <paramref name="from"/> on and
    /// before <paramref name="before"/> when given, at most <paramref name="limit"/>.</summary>
    public IReadOnlyList<StoredValue> Range(string prefix, string? from = null, string? before = null, int limit = int.MaxValue) =>
        _etcd.RangeLocked(prefix, Revision, from, before, limit);

    /// <summary>Writes a key, under <paramref name="lease"/> when not 0 (the lease must be alive).</summary>
    public void Put(string key, byte[] value, long lease = 0) => Writes.Add((key, value, lease));

    /// <summary>Deletes a key (nothing happens when it does not exist).</summary>
    public void Delete(string key) => Writes.Add((key, null, 0));
}
