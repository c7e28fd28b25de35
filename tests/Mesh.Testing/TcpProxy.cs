using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Mesh.Testing;

/// <summary>A loopback TCP proxy a test can cut and restore, or make slow: one peer's path to a server, and nobody
/// else's.</summary>
public sealed class TcpProxy : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = [];
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _tripped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _cut;
    private long _toClients;
    private long _cutAt = long.MaxValue;

    public TcpProxy(int upstreamPort)
    {
        _upstreamPort = upstreamPort;
        _listener.Start();
        _ = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Drops every connection through the proxy, and refuses new ones until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        _cut = true;
        lock (_lock)
        {
            foreach (var client in _open)
            {
                client.Close();
            }

            _open.Clear();
        }
    }

    public void Restore() => _cut = false;

    /// <summary>Bytes passed from the server to its clients, over every connection so far.</summary>
    public long BytesToClients => Interlocked.Read(ref _toClients);

    /// <summary>Cuts (as <see cref="Cut"/> does) once <paramref name="bytes"/> more have passed from the server to its
    /// clients: in the middle of a large answer, whenever it comes. Completes when it has cut.</summary>
    public Task CutAfterAsync(long bytes)
    {
        Interlocked.Exchange(ref _cutAt, BytesToClients + bytes);
        return _tripped.Task;
    }

    private void Passed(int bytes)
    {
        if (Interlocked.Add(ref _toClients, bytes) >= Interlocked.Read(ref _cutAt) && Interlocked.Exchange(ref _cutAt, long.MaxValue) != long.MaxValue)
        {
            Cut();
            _tripped.TrySetResult();
        }
    }

    /// <summary>How long each chunk is held, each way, before it is passed on (in order): a distant server, 100 ms here
    /// being a 200 ms round trip. Connections opened after it is set are held.</summary>
    public TimeSpan Delay { get; set; }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (_cut)
            {
                inbound.Close();
                continue;
            }

            _ = Task.Run(() => PipeAsync(inbound));
        }
    }

    private async Task PipeAsync(TcpClient inbound)
    {
        var outbound = new TcpClient();
        try
        {
            await outbound.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
            lock (_lock)
            {
                _open.Add(inbound);
                _open.Add(outbound);
            }

            var delay = Delay;
            var a = PumpAsync(inbound.GetStream(), outbound.GetStream(), delay, null, _stop.Token);
            var b = PumpAsync(outbound.GetStream(), inbound.GetStream(), delay, Passed, _stop.Token);
            await Task.WhenAny(a, b);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            inbound.Close();
            outbound.Close();
        }
    }

    /// <summary>One way of one connection: each chunk read is stamped with when it is due, and written then, in order;
    /// <paramref name="passed"/> is told of each chunk written.</summary>
    private static async Task PumpAsync(NetworkStream from, NetworkStream to, TimeSpan delay, Action<int>? passed, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        int n;
        if (delay <= TimeSpan.Zero)
        {
            while ((n = await from.ReadAsync(buffer, ct)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, n), ct);
                passed?.Invoke(n);
            }

            return;
        }

        var queue = Channel.CreateUnbounded<(byte[] Data, long Due)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writer = Task.Run(async () =>
        {
            await foreach (var (data, due) in queue.Reader.ReadAllAsync(ct))
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, ct);
                }

                await to.WriteAsync(data, ct);
                passed?.Invoke(data.Length);
            }
        }, ct);
        try
        {
            while ((n = await from.ReadAsync(buffer, ct)) > 0)
            {
                queue.Writer.TryWrite((buffer[..n], Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency)));
            }
        }
        finally
        {
            queue.Writer.TryComplete();
        }

        await writer;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        Cut();
        _stop.Dispose();
    }
}
