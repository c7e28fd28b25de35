using System.Collections.Concurrent;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Registry;

namespace Mesh.Testing;

/// <summary>The in-memory twin of <see cref="PeerRegistration"/>, on an <see cref="InMemoryEtcd"/>: keys under one
/// lease kept alive every third of its TTL on the store's clock; a lease found gone is granted again and every key
/// written again (Lost, then Restored); an unreachable store makes it Unreachable and retry at the next beat.</summary>
public sealed class InMemoryPresence : IPresence
{
    private readonly InMemoryEtcd _etcd;
    private readonly ConcurrentDictionary<string, byte[]> _keys = new(StringComparer.Ordinal);
    private readonly Lock _writeLock = new();
    private readonly Lock _beatLock = new();
    private ITimer? _keeper;
    private bool _stopped;
    private long _leaseId;
    private RegistrationState _state = RegistrationState.Registered;

    public InMemoryPresence(InMemoryEtcd etcd, TimeSpan ttl)
    {
        if (ttl < TimeSpan.FromSeconds(2))
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), "a lease TTL under 2 s cannot be kept alive reliably");
        }

        _etcd = etcd;
        Ttl = ttl;
    }

    public long LeaseId => Interlocked.Read(ref _leaseId);

    public TimeSpan Ttl { get; }

    public event Action<RegistrationState>? StateChanged;

    public event Action<TimeSpan>? Retrying;

    public event Action? Renewed;

    public Task StartAsync(string key, byte[] value, CancellationToken ct)
    {
        _keys[key] = value;
        GrantAndWriteAll();
        // The first keep-alive at once, as the real one sends it.
        _keeper = _etcd.Time.CreateTimer(_ => Beat(), null, TimeSpan.Zero, Ttl / 3);
        return Task.CompletedTask;
    }

    public Task PutAsync(string key, byte[] value, CancellationToken ct)
    {
        _keys[key] = value;
        lock (_writeLock)
        {
            _etcd.Put(key, value, LeaseId);
        }

        return Task.CompletedTask;
    }

    public Task DeleteAsync(string key, CancellationToken ct)
    {
        _keys.TryRemove(key, out _);
        _etcd.Delete(key);
        return Task.CompletedTask;
    }

    public Task RevokeAsync(TimeSpan timeout)
    {
        StopKeeper();
        if (LeaseId == 0)
        {
            return Task.CompletedTask;
        }

        try
        {
            _etcd.RevokeLease(LeaseId);
        }
        catch (EtcdUnavailableException)
        {
            // The lease expires by itself after its TTL, as with etcd.
        }

        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        StopKeeper();
        return ValueTask.CompletedTask;
    }

    private void GrantAndWriteAll()
    {
        lock (_writeLock)
        {
            var lease = _etcd.GrantLease(Ttl);
            Interlocked.Exchange(ref _leaseId, lease);
            foreach (var (key, value) in _keys)
            {
                _etcd.Put(key, value, lease);
            }
        }
    }

    /// <summary>One keep-alive, on the keeper's timer.</summary>
    private void Beat()
    {
        lock (_beatLock)
        {
            if (_stopped)
            {
                // A beat already due when the keeper stopped: the lease is let go, not granted again.
                return;
            }

            try
            {
                if (!_etcd.KeepAlive(LeaseId))
                {
                    // The store no longer knows the lease: every presence key is gone. Register again.
                    Set(RegistrationState.Lost);
                    GrantAndWriteAll();
                    Set(RegistrationState.Restored);
                }

                Renewed?.Invoke();
                if (_state is not RegistrationState.Registered and not RegistrationState.Restored)
                {
                    Set(RegistrationState.Registered);
                }
            }
            catch (EtcdUnavailableException)
            {
                Set(RegistrationState.Unreachable);
                Retrying?.Invoke(Ttl / 3);
            }
        }
    }

    private void Set(RegistrationState next)
    {
        if (next == _state)
        {
            return;
        }

        _state = next;
        StateChanged?.Invoke(next);
    }

    private void StopKeeper()
    {
        lock (_beatLock)
        {
            _stopped = true;
            _keeper?.Dispose();
            _keeper = null;
        }
    }
}
