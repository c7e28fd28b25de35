using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Mesh.Testing;

/// <summary>A TCP relay inside one host of a <see cref="TestNetwork"/>, in front of one of its listeners: what a real
/// network adds to a link, in user space (the kernel here has no netem). Each way, every chunk is held for
/// <see cref="Delay"/> ± <see cref="Jitter"/> (never reordered: it is one stream), sent no faster than
/// <see cref="BytesPerSecond"/>, and connections from a blocked source are held still: nothing read, nothing sent,
/// new ones accepted but not passed on, as a partition looks to both ends until it heals.</summary>
public sealed class LinkRelay : IDisposable
{
    private const int ChunkBytes = 16 * 1024;
    private readonly Socket _listener;
    private readonly IPEndPoint _upstream;
    private readonly NetHost _host;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly HashSet<IPAddress> _blocked = [];
    private readonly List<Socket> _open = [];
    private readonly Throttle _inbound = new();
    private readonly Throttle _outbound = new();
    private TaskCompletionSource _unblocked = NewSignal();
    private long _bytes;

    /// <summary>Listens on <paramref name="host"/>'s address at <paramref name="port"/> and passes each connection on
    /// to <paramref name="upstreamPort"/> on the same host.</summary>
    public LinkRelay(NetHost host, int port, int upstreamPort)
    {
        _host = host;
        _upstream = new IPEndPoint(host.Address, upstreamPort);
        _listener = host.NewTcpSocket();
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(new IPEndPoint(host.Address, port));
        _listener.Listen(128);
        Endpoint = new IPEndPoint(host.Address, port);
        _ = Task.Run(AcceptLoopAsync);
    }

    public IPEndPoint Endpoint { get; }

    /// <summary>Added to each way: 20 ms here is a 40 ms round trip.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Each chunk's delay is <see cref="Delay"/> plus or minus up to this, uniformly.</summary>
    public TimeSpan Jitter { get; set; }

    /// <summary>Each way's cap, shared by every connection through the relay; 0 for none.</summary>
    public long BytesPerSecond
    {
        get => _inbound.BytesPerSecond;
        set
        {
            _inbound.BytesPerSecond = value;
            _outbound.BytesPerSecond = value;
        }
    }

    /// <summary>Bytes passed on, both ways.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Holds still every connection from <paramref name="source"/> until <see cref="Unblock"/>.</summary>
    public void Block(IPAddress source)
    {
        lock (_lock)
        {
            _blocked.Add(source);
        }
    }

    public void Unblock(IPAddress source)
    {
        TaskCompletionSource released;
        lock (_lock)
        {
            _blocked.Remove(source);
            released = _unblocked;
            _unblocked = NewSignal();
        }

        released.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Waits while <paramref name="source"/> is blocked.</summary>
    private async Task PassAsync(IPAddress source, CancellationToken ct)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (!_blocked.Contains(source))
                {
                    return;
                }

                wait = _unblocked.Task;
            }

            await wait.WaitAsync(ct);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket inbound;
            try
            {
                inbound = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(inbound));
        }
    }

    private async Task ServeAsync(Socket inbound)
    {
        var source = ((IPEndPoint)inbound.RemoteEndPoint!).Address;
        Socket? outbound = null;
        try
        {
            inbound.NoDelay = true;
            await PassAsync(source, _stop.Token);
            outbound = _host.NewTcpSocket();
            outbound.NoDelay = true;
            Track(inbound);
            Track(outbound);
            await outbound.ConnectAsync(_upstream, _stop.Token);
            await Task.WhenAll(PumpAsync(inbound, outbound, source, _inbound), PumpAsync(outbound, inbound, source, _outbound));
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException or ChannelClosedException)
        {
        }
        finally
        {
            Close(inbound);
            Close(outbound);
        }
    }

    /// <summary>One way of one connection: a reader that stamps each chunk with the time it is due, and a writer
    /// that sends it then (in order), within the cap, while the source is not blocked.</summary>
    private async Task PumpAsync(Socket from, Socket to, IPAddress source, Throttle throttle)
    {
        var queue = Channel.CreateBounded<(byte[] Data, long Due)>(new BoundedChannelOptions(256) { SingleReader = true, SingleWriter = true });
        var ct = _stop.Token;
        var reader = Task.Run(async () =>
        {
            var lastDue = 0L;
            try
            {
                while (true)
                {
                    await PassAsync(source, ct);
                    var buffer = new byte[ChunkBytes];
                    var n = await from.ReceiveAsync(buffer, SocketFlags.None, ct);
                    if (n == 0)
                    {
                        return;
                    }

                    var due = Stopwatch.GetTimestamp() + Hold().Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond;
                    lastDue = Math.Max(lastDue, due);
                    await queue.Writer.WriteAsync((buffer[..n], lastDue), ct);
                }
            }
            finally
            {
                queue.Writer.TryComplete();
            }
        }, ct);

        await foreach (var (data, due) in queue.Reader.ReadAllAsync(ct))
        {
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct);
            }

            await throttle.TakeAsync(data.Length, ct);
            await PassAsync(source, ct);
            var sent = 0;
            while (sent < data.Length)
            {
                sent += await to.SendAsync(data.AsMemory(sent), SocketFlags.None, ct);
            }

            Interlocked.Add(ref _bytes, data.Length);
        }

        await reader;
        to.Shutdown(SocketShutdown.Send);
    }

    private TimeSpan Hold()
    {
        var jitter = Jitter.TotalMilliseconds;
        var ms = Delay.TotalMilliseconds + (jitter > 0 ? (Random.Shared.NextDouble() * 2 - 1) * jitter : 0);
        return TimeSpan.FromMilliseconds(Math.Max(0, ms));
    }

    private void Track(Socket socket)
    {
        lock (_lock)
        {
            _open.Add(socket);
        }
    }

    private void Close(Socket? socket)
    {
        if (socket is null)
        {
            return;
        }

        lock (_lock)
        {
            _open.Remove(socket);
        }

        socket.Dispose();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        lock (_lock)
        {
            foreach (var socket in _open)
            {
                socket.Dispose();
            }

            _open.Clear();
        }
    }

    /// <summary>A cap on bytes per second for one way, shared by every connection that way.</summary>
    private sealed class Throttle
    {
        private readonly Lock _lock = new();
        private long _freeAt;

        public long BytesPerSecond { get; set; }

        public async Task TakeAsync(int bytes, CancellationToken ct)
        {
            var rate = BytesPerSecond;
            if (rate <= 0)
            {
                return;
            }

            long start;
            lock (_lock)
            {
                var now = Stopwatch.GetTimestamp();
                start = Math.Max(now, _freeAt);
                _freeAt = start + bytes * Stopwatch.Frequency / rate;
            }

            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), start);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct);
            }
        }
    }
}
