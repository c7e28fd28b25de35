using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Coordinator.Etcd;

namespace Mesh.Testing;

/// <summary>Moves etcd's revision and compacts up to it, every period, until disposed: no revision a read is pinned to
/// survives long.</summary>
public sealed class EtcdCompactor : IAsyncDisposable
{
    /// <summary>The key each tick writes: without a write the revision stands still, and compacting at it again fails.</summary>
    public const string TickKey = "/test/compactor";

    private readonly EtcdConnection _etcd;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _count;

    /// <param name="url">The etcd to compact.</param>
    /// <param name="period">How often.</param>
    public EtcdCompactor(string url, TimeSpan period)
    {
        _etcd = new EtcdConnection([url]);
        _loop = RunAsync(period);
    }

    /// <summary>How many compactions etcd has done.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Why the loop stopped before it was disposed (null while it runs).</summary>
    public string? Failure { get; private set; }

    private async Task RunAsync(TimeSpan period)
    {
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var put = await _etcd.KV.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(TickKey), Value = ByteString.CopyFromUtf8("tick") },
                    deadline: EtcdConnection.Deadline(), cancellationToken: _stop.Token);
                await _etcd.KV.CompactAsync(new CompactionRequest { Revision = put.Header.Revision },
                    deadline: EtcdConnection.Deadline(), cancellationToken: _stop.Token);
                Interlocked.Increment(ref _count);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (RpcException e) when (_stop.IsCancellationRequested && e.StatusCode == StatusCode.Cancelled)
        {
        }
        catch (Exception e)
        {
            Failure = e.Message;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _etcd.Dispose();
        _stop.Dispose();
    }
}
