using System.Globalization;
using Mesh.Coordinator.Etcd;

namespace Mesh.Testing;

/// <summary>etcd in memory, for fast tests: the twins of every port sit on one, so that what one writes the others read
/// and watch, as they would through one etcd. It is also the twin of <see cref="IEtcdInfo"/>.</summary>
/// <remarks>
/// What it keeps of etcd: one revision counter, moved once by each transaction that changes something; per key its
/// creation and modification revisions, version and lease; keys in byte order; every revision since the last
/// compaction, so that reads at a revision and watches from one see the store as it was then (and one compacted away
/// fails as etcd's does); leases that expire on <see cref="Time"/>, or at once on demand. What it leaves out: limits on
/// sizes and operations, and paging in its own reads (each is one snapshot); etcd's range call, paged by its caller at
/// a revision that may be compacted away between pages, is <see cref="RangeAsync"/>. <see cref="Reachable"/> set to
/// false makes every request fail as an unreachable etcd's do, while leases go on expiring.
/// </remarks>
public sealed partial class InMemoryEtcd : IEtcdInfo, IDisposable
{
    private static long s_clusters;

    private readonly Lock _lock = new();
    private readonly SortedSet<string> _order = new(KeyOrder.Instance);

    /// <summary>Each key's values since the last compaction, oldest first; a null value is a deletion.</summary>
    private readonly Dictionary<string, List<(long Revision, StoredValue? Value)>> _versions = new(StringComparer.Ordinal);

    /// <summary>Every change since the last compaction, in revision order: what watches deliver.</summary>
    private readonly List<KeyChange> _changes = [];

    private readonly Dictionary<long, (TimeSpan Ttl, HashSet<string> Keys, ITimer Expiry)> _leases = [];
    private readonly string _clusterId;
    private long _revision = 1;
    private long _compacted;
    private long _lastLease = 0x6d657368_0000;
    private volatile bool _reachable = true;
    private volatile bool _answered;

    /// <param name="time">The clock leases expire on (the system's unless a test brings its own).</param>
    public InMemoryEtcd(TimeProvider? time = null)
    {
        Time = time ?? TimeProvider.System;
        _clusterId = (0x6d657368_00000000 + Interlocked.Increment(ref s_clusters)).ToString("x16", CultureInfo.InvariantCulture);
    }

    /// <summary>The clock of leases, and of the twins on this store that keep time.</summary>
    public TimeProvider Time { get; }

    public string Describe => "in-memory etcd";

    /// <summary>This store's cluster id (distinct per store), once a request asked for it, as with etcd.</summary>
    public string ClusterId => _answered ? _clusterId : "";

    public event Action<string, TimeSpan, bool>? RequestCompleted;

    /// <summary>Raised after every change, and when the store becomes reachable again: watches look for changes then.</summary>
    internal event Action? Changed;

    /// <summary>False: every request fails with <see cref="EtcdUnavailableException"/> and watches deliver nothing,
    /// until it is true again.</summary>
    public bool Reachable
    {
        get => _reachable;
        set
        {
            _reachable = value;
            Changed?.Invoke();
        }
    }

    /// <summary>The current revision.</summary>
    public long Revision
    {
        get
        {
            lock (_lock)
            {
                return _revision;
            }
        }
    }

    /// <summary>The revision compacted up to (0: none): reads and watches before it fail.</summary>
    public long Compacted
    {
        get
        {
            lock (_lock)
            {
                return _compacted;
            }
        }
    }

    /// <summary>The leases alive now.</summary>
    public IReadOnlyList<long> Leases
    {
        get
        {
            lock (_lock)
            {
                return [.. _leases.Keys];
            }
        }
    }

    public Task<long> CheckReachableAsync(TimeSpan timeout, CancellationToken ct) => CurrentRevisionAsync(ct);

    public Task<long> CurrentRevisionAsync(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var revision = Request("Range", () => Revision);
        _answered = true;
        return Task.FromResult(revision);
    }

    /// <summary>Runs <paramref name="body"/> as one transaction: its reads see the store as it is now, its writes land
    /// together at the next revision (a put under a lease that is gone fails it whole, as etcd does).</summary>
    public T Transact<T>(Func<InMemoryTxn, T> body)
    {
        var changed = false;
        var result = Request("Txn", () =>
        {
            lock (_lock)
            {
                var txn = new InMemoryTxn(this, _revision);
                var answer = body(txn);
                changed = ApplyLocked(txn.Writes);
                return answer;
            }
        });
        if (changed)
        {
            Changed?.Invoke();
        }

        return result;
    }

    /// <summary>Writes a key (under <paramref name="lease"/> when not 0); returns the revision it was written at.</summary>
    public long Put(string key, byte[] value, long lease = 0) => Transact(txn =>
    {
        txn.Put(key, value, lease);
        return txn.Revision + 1;
    });

    /// <summary>Deletes a key; false when there was none.</summary>
    public bool Delete(string key) => Transact(txn =>
    {
        txn.Delete(key);
        return txn.Get(key) is not null;
    });

    /// <summary>A key as it was at <paramref name="revision"/> (0: now); null when it did not exist.</summary>
    /// <exception cref="RevisionCompactedException">That revision was compacted away.</exception>
    public StoredValue? Get(string key, long revision = 0) => Request("Range", () =>
    {
        lock (_lock)
        {
            return ValueAtLocked(key, revision);
        }
    });

    /// <summary>The keys that start with <paramref name="prefix"/> as they were at <paramref name="revision"/> (0: now),
    /// in key order, from <paramref name="from"/> on and before <paramref name="before"/> when given, at most
    /// <paramref name="limit"/>; and the revision read at.</summary>
    /// <exception cref="RevisionCompactedException">That revision was compacted away.</exception>
    public (IReadOnlyList<StoredValue> Values, long Revision) Range(string prefix, long revision = 0, string? from = null, string? before = null, int limit = int.MaxValue) =>
        Request("Range", () =>
        {
            lock (_lock)
            {
                var at = revision == 0 ? _revision : revision;
                return (RangeLocked(prefix, at, from, before, limit), at);
            }
        });

    /// <summary>Forgets every revision before <paramref name="revision"/>: reads at them and watches from them fail from
    /// now on (watches are told the oldest revision kept).</summary>
    public void Compact(long revision)
    {
        Request("Compact", () =>
        {
            lock (_lock)
            {
                if (revision <= _compacted || revision > _revision)
                {
                    throw new ArgumentOutOfRangeException(nameof(revision), $"compacted up to {_compacted}, current {_revision}");
                }

                foreach (var key in _versions.Keys.ToList())
                {
                    var versions = _versions[key];
                    var kept = versions.FindLastIndex(v => v.Revision <= revision);
                    if (kept > 0)
                    {
                        versions.RemoveRange(0, kept);
                    }

                    if (versions[0].Revision <= revision && versions[0].Value is null)
                    {
                        versions.RemoveAt(0);
                    }

                    if (versions.Count == 0)
                    {
                        _versions.Remove(key);
                        _order.Remove(key);
                    }
                }

                _changes.RemoveRange(0, FirstChangeLocked(revision));
                _compacted = revision;
                return revision;
            }
        });
        Changed?.Invoke();
    }

    /// <summary>Grants a lease that expires <paramref name="ttl"/> after it was granted or last kept alive.</summary>
    public long GrantLease(TimeSpan ttl)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        return Request("LeaseGrant", () =>
        {
            lock (_lock)
            {
                var id = ++_lastLease;
                _leases[id] = (ttl, new HashSet<string>(StringComparer.Ordinal), Time.CreateTimer(_ => EndLease(id), null, ttl, Timeout.InfiniteTimeSpan));
                return id;
            }
        });
    }

    /// <summary>Keeps a lease alive for its TTL from now; false when it is gone (expired or revoked).</summary>
    public bool KeepAlive(long lease)
    {
        // A stream in etcd's client: not a timed request.
        if (!_reachable)
        {
            throw Unreachable();
        }

        lock (_lock)
        {
            return _leases.TryGetValue(lease, out var held) && held.Expiry.Change(held.Ttl, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Revokes a lease: every key under it is deleted at one revision. False when it was gone already.</summary>
    public bool RevokeLease(long lease) => Request("LeaseRevoke", () => EndLease(lease));

    /// <summary>Ends a lease now, as its expiry does (whether or not the store is reachable); false when it was gone.</summary>
    public bool ExpireLease(long lease) => EndLease(lease);

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var lease in _leases.Values)
            {
                lease.Expiry.Dispose();
            }

            _leases.Clear();
        }
    }

    /// <summary>The changes to keys under <paramref name="prefix"/> from revision <paramref name="from"/> on, in revision
    /// order; or, when that revision was compacted away, none and the revision compacted up to.</summary>
    internal (IReadOnlyList<KeyChange> Changes, long Compacted) ChangesFrom(string prefix, long from)
    {
        lock (_lock)
        {
            if (!_reachable)
            {
                // Read under the lock: a change made after the store went out of reach is never handed over before it is back.
                return ([], 0);
            }

            if (from < _compacted)
            {
                return ([], _compacted);
            }

            var changes = new List<KeyChange>();
            for (var i = FirstChangeLocked(from); i < _changes.Count; i++)
            {
                if (_changes[i].Key.StartsWith(prefix, StringComparison.Ordinal))
                {
                    changes.Add(_changes[i]);
                }
            }

            return (changes, 0);
        }
    }

    internal StoredValue? ValueAtLocked(string key, long revision)
    {
        revision = CheckRevisionLocked(revision);
        if (!_versions.TryGetValue(key, out var versions))
        {
            return null;
        }

        for (var i = versions.Count - 1; i >= 0; i--)
        {
            if (versions[i].Revision <= revision)
            {
                return versions[i].Value;
            }
        }

        return null;
    }

    internal List<StoredValue> RangeLocked(string prefix, long revision, string? from, string? before, int limit)
    {
        revision = CheckRevisionLocked(revision);
        var start = from is not null && KeyOrder.Instance.Compare(from, prefix) > 0 ? from : prefix;
        var found = new List<StoredValue>();
        foreach (var key in _order.GetViewBetween(start, KeyOrder.Top))
        {
            if (found.Count >= limit || !key.StartsWith(prefix, StringComparison.Ordinal)
                || before is not null && KeyOrder.Instance.Compare(key, before) >= 0)
            {
                break;
            }

            if (ValueAtLocked(key, revision) is { } value)
            {
                found.Add(value);
            }
        }

        return found;
    }

    private long CheckRevisionLocked(long revision)
    {
        if (revision == 0)
        {
            return _revision;
        }

        if (revision < _compacted)
        {
            throw new RevisionCompactedException(revision, _compacted);
        }

        return revision <= _revision
            ? revision
            : throw new ArgumentOutOfRangeException(nameof(revision), $"mvcc: required revision {revision} is a future revision (current {_revision})");
    }

    /// <summary>Applies a transaction's writes at the next revision; true when something changed (the revision moved).</summary>
    private bool ApplyLocked(List<(string Key, byte[]? Value, long Lease)> writes)
    {
        foreach (var (key, value, lease) in writes)
        {
            if (value is not null && lease != 0 && !_leases.ContainsKey(lease))
            {
                throw new EtcdUnavailableException($"etcd at {Describe} refused a put of {key}: requested lease not found");
            }
        }

        var revision = _revision + 1;
        var changed = false;
        foreach (var (key, value, lease) in writes)
        {
            var held = ValueAtLocked(key, 0);
            if (value is null && held is null)
            {
                continue;
            }

            if (held is { Lease: not 0 } && _leases.TryGetValue(held.Lease, out var old))
            {
                old.Keys.Remove(key);
            }

            StoredValue? next = null;
            if (value is not null)
            {
                next = new StoredValue(key, value, held?.CreateRevision ?? revision, revision, (held?.Version ?? 0) + 1, lease);
                if (lease != 0)
                {
                    _leases[lease].Keys.Add(key);
                }
            }

            if (!_versions.TryGetValue(key, out var versions))
            {
                _versions[key] = versions = [];
                _order.Add(key);
            }

            versions.Add((revision, next));
            _changes.Add(next is null ? new KeyChange(key, true, [], revision, 0) : new KeyChange(key, false, value!, revision, lease, next.Version));
            changed = true;
        }

        if (changed)
        {
            _revision = revision;
        }

        return changed;
    }

    private bool EndLease(long lease)
    {
        lock (_lock)
        {
            if (!_leases.Remove(lease, out var ended))
            {
                return false;
            }

            ended.Expiry.Dispose();
            // One revision for every key, in key order (a revoke is one transaction in etcd).
            ApplyLocked([.. ended.Keys.Order(KeyOrder.Instance).Select(k => (k, (byte[]?)null, 0L))]);
        }

        Changed?.Invoke();
        return true;
    }

    /// <summary>The index of the first change at <paramref name="revision"/> or later.</summary>
    private int FirstChangeLocked(long revision)
    {
        int low = 0, high = _changes.Count;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (_changes[middle].ModRevision < revision)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    private T Request<T>(string method, Func<T> call)
    {
        if (!_reachable)
        {
            RequestCompleted?.Invoke(method, TimeSpan.Zero, true);
            throw Unreachable();
        }

        try
        {
            var result = call();
            RequestCompleted?.Invoke(method, TimeSpan.Zero, false);
            return result;
        }
        catch
        {
            RequestCompleted?.Invoke(method, TimeSpan.Zero, true);
            throw;
        }
    }

    private EtcdUnavailableException Unreachable() => new($"etcd unreachable at {Describe} (connection refused or lost)");
}
