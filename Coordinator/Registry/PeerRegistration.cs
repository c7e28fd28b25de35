using System.Collections.Concurrent;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Coordinator.Etcd;
using Microsoft.Extensions.Logging;

namespace Mesh.Coordinator.Registry;

/// <summary>This peer's presence in etcd: a lease kept alive, and the keys that live under it.</summary>
/// <remarks>
/// Every presence key (the peer record and one member record per group) is attached to one lease. Keep-alives run at
/// a third of the TTL; when etcd says the lease is gone (after a freeze or a long outage) the registration grants a
/// new lease and writes every key again, so presence heals without the user doing anything.
/// </remarks>
public sealed partial class PeerRegistration : IPresence
{
    private readonly EtcdConnection _etcd;
    private readonly TimeSpan _ttl;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, byte[]> _keys = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private long _leaseId;
    private Task? _keeper;

    public PeerRegistration(EtcdConnection etcd, TimeSpan ttl, ILogger log)
    {
        if (ttl < TimeSpan.FromSeconds(2))
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), "a lease TTL under 2 s cannot be kept alive reliably");
        }

        _etcd = etcd;
        _ttl = ttl;
        _log = log;
    }

    public long LeaseId => Interlocked.Read(ref _leaseId);

    public TimeSpan Ttl => _ttl;

    /// <summary>Raised from the keep-alive loop whenever the registration changes state.</summary>
    public event Action<RegistrationState>? StateChanged;

    /// <summary>Raised from the keep-alive loop before each retry while etcd does not answer: the delay until it.</summary>
    public event Action<TimeSpan>? Retrying;

    /// <summary>Raised each time etcd answers a keep-alive of the lease.</summary>
    public event Action? Renewed;

    /// <summary>Grants the lease and writes <paramref name="key"/> under it; then keeps the lease alive.</summary>
    public async Task StartAsync(string key, byte[] value, CancellationToken ct)
    {
        _keys[key] = value;
        await GrantAndWriteAllAsync(ct);
        _keeper = Task.Run(KeepAliveLoopAsync);
    }

    /// <summary>Adds (or replaces) a key that lives and dies with this peer's lease.</summary>
    public async Task PutAsync(string key, byte[] value, CancellationToken ct)
    {
        _keys[key] = value;
        await _writeLock.WaitAsync(ct);
        try
        {
            await PutLeasedAsync(key, value, LeaseId, ct);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task DeleteAsync(string key, CancellationToken ct)
    {
        _keys.TryRemove(key, out _);
        try
        {
            await _etcd.KV.DeleteRangeAsync(
                new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) },
                deadline: EtcdConnection.Deadline(), cancellationToken: ct);
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }

    private async Task GrantAndWriteAllAsync(CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            LeaseGrantResponse grant;
            try
            {
                grant = await _etcd.Lease.LeaseGrantAsync(
                    new LeaseGrantRequest { TTL = (long)Math.Ceiling(_ttl.TotalSeconds) },
                    deadline: EtcdConnection.Deadline(), cancellationToken: ct);
            }
            catch (RpcException e)
            {
                throw _etcd.Unavailable(e);
            }

            Interlocked.Exchange(ref _leaseId, grant.ID);
            foreach (var (key, value) in _keys)
            {
                await PutLeasedAsync(key, value, grant.ID, ct);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task PutLeasedAsync(string key, byte[] value, long lease, CancellationToken ct)
    {
        try
        {
            await _etcd.KV.PutAsync(
                new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFrom(value), Lease = lease },
                deadline: EtcdConnection.Deadline(), cancellationToken: ct);
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }

    private async Task KeepAliveLoopAsync()
    {
        var ct = _stop.Token;
        var interval = _ttl / 3;
        var backoff = new Backoff(TimeSpan.FromMilliseconds(250), interval);
        var lastRenewed = DateTime.UtcNow;
        var state = RegistrationState.Registered;
        var leaderlessAnswers = 0;
        var unanswered = 0;

        // A keep-alive unanswered for a third of the TTL is sent again at once on a new stream, which the channel
        // opens on the next member: the member that holds this one may be cut off from its cluster and not know it
        // yet (it then answers nothing, and "no leader" only after its election timeout). Two thirds are left.
        var answerWithin = _ttl / 3 < EtcdConnection.CallTimeout ? _ttl / 3 : EtcdConnection.CallTimeout;

        void Set(RegistrationState next)
        {
            if (next == state)
            {
                return;
            }

            state = next;
            LogState(next);
            StateChanged?.Invoke(next);
        }

        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var call = _etcd.Lease.LeaseKeepAlive(cancellationToken: ct);
                while (!ct.IsCancellationRequested)
                {
                    await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = LeaseId }, ct);
                    using var answer = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    answer.CancelAfter(answerWithin);
                    bool moved;
                    try
                    {
                        moved = await call.ResponseStream.MoveNext(answer.Token);
                    }
                    catch (Exception e) when (e is RpcException or OperationCanceledException && answer.IsCancellationRequested && !ct.IsCancellationRequested)
                    {
                        throw new TimeoutException($"keep-alive not answered within {answerWithin.TotalSeconds:0.#} s");
                    }

                    if (!moved)
                    {
                        throw new RpcException(new Status(StatusCode.Unavailable, "keep-alive stream closed"));
                    }

                    if (call.ResponseStream.Current.TTL <= 0)
                    {
                        // etcd no longer knows the lease: every presence key is gone. Register again.
                        Set(RegistrationState.Lost);
                        await GrantAndWriteAllAsync(ct);
                        Set(RegistrationState.Restored);
                    }

                    lastRenewed = DateTime.UtcNow;
                    Renewed?.Invoke();
                    backoff.Reset();
                    leaderlessAnswers = 0;
                    unanswered = 0;
                    if (state is not RegistrationState.Registered and not RegistrationState.Restored)
                    {
                        Set(RegistrationState.Registered);
                    }

                    await Task.Delay(interval, ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e) when (EtcdConnection.IsNoLeader(e) && leaderlessAnswers++ == 0)
            {
                // The stream was on a member cut off from its leader, which said so at once: the next one opens on
                // another member. Only if that fails too is etcd unreachable.
                LogKeepAliveFailed(e.Message);
                continue;
            }
            catch (TimeoutException e) when (unanswered++ == 0)
            {
                LogKeepAliveFailed(e.Message + "; sending it again on another stream");
                continue;
            }
            catch (Exception e) when (e is RpcException or EtcdUnavailableException or OperationCanceledException or IOException or TimeoutException)
            {
                LogKeepAliveFailed(e.Message);
                // Tell at once: the lease may live on for a while, but the user should know etcd does not answer.
                Set(RegistrationState.Unreachable);
            }

            var delay = backoff.Next();
            Retrying?.Invoke(delay);
            try
            {
                await Task.Delay(delay, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Revokes the lease: every presence key disappears at once, so others see this peer leave now.</summary>
    public async Task RevokeAsync(TimeSpan timeout)
    {
        await StopKeeperAsync();
        if (LeaseId == 0)
        {
            return;
        }

        try
        {
            await _etcd.Lease.LeaseRevokeAsync(
                new LeaseRevokeRequest { ID = LeaseId }, deadline: EtcdConnection.Deadline(timeout));
        }
        catch (RpcException e)
        {
            // The lease expires by itself after its TTL; others see this peer leave then.
            LogRevokeFailed(e.Status.Detail);
        }
    }

    private async Task StopKeeperAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }

        if (_keeper is not null)
        {
            await _keeper.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopKeeperAsync();
        _stop.Dispose();
        _writeLock.Dispose();
    }

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "registration: {State}")]
    private partial void LogState(RegistrationState state);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "lease keep-alive failed: {Reason}")]
    private partial void LogKeepAliveFailed(string reason);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "lease revoke failed ({Reason}); it expires by itself")]
    private partial void LogRevokeFailed(string reason);
}
