using Mesh.Coordinator;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Logging;

/// <summary>Writes one line per log entry, at a level set by MESH_LOG: to stderr in headless mode (stdout belongs to
/// the JSON-lines contract), to a file under the home while the terminal UI owns the screen. Every line is made
/// printable (<see cref="TerminalText"/>): what others wrote cannot drive the terminal it is read on.</summary>
/// <remarks>
/// Lines are written by a thread of their own (<c>mesh-log</c>), in order: a caller, such as the session's loop, only
/// queues a line and never waits on a file or a full pipe. At most <see cref="MaxQueued"/> lines wait; beyond that lines
/// are counted and the count written once there is room.
/// </remarks>
public sealed class LineLoggerFactory : ILoggerFactory
{
    /// <summary>The most lines waiting to be written.</summary>
    public const int MaxQueued = 10_000;

    private readonly LogLevel _minimum;
    private readonly TextWriter _output;
    private readonly Queue<string> _queue = new();
    private readonly object _gate = new();
    private readonly Thread _thread;
    private long _dropped;
    private bool _writing;
    private bool _disposed;

    public LineLoggerFactory(LogLevel minimum, TextWriter output)
    {
        _minimum = minimum;
        _output = output;
        _thread = new Thread(Write) { IsBackground = true, Name = "mesh-log" };
        _thread.Start();
    }

    public static LineLoggerFactory FromEnvironment(TextWriter? output = null) =>
        new(Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("MESH_LOG"), ignoreCase: true, out var level)
            ? level
            : LogLevel.Warning, output ?? Console.Error);

    /// <summary>Appends to <paramref name="path"/> (mode 0600: logs name peers and endpoints).</summary>
    public static LineLoggerFactory ToFile(string path)
    {
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.ReadWrite,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        return FromEnvironment(new StreamWriter(stream) { AutoFlush = true });
    }

    public ILogger CreateLogger(string categoryName) => new LineLogger(categoryName, _minimum, this);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    /// <summary>Queues a line for the writer thread; never waits on the output.</summary>
    private void Enqueue(string line)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            if (_queue.Count >= MaxQueued)
            {
                _dropped++;
                return;
            }

            _queue.Enqueue(line);
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>The writer thread: sleeps while nothing is queued, writes what is, in order.</summary>
    private void Write()
    {
        while (true)
        {
            string line;
            lock (_gate)
            {
                while (_queue.Count == 0 && !_disposed)
                {
                    Monitor.Wait(_gate);
                }

                if (_queue.Count == 0)
                {
                    return;
                }

                line = _queue.Dequeue();
                _writing = true;
            }

            try
            {
                _output.WriteLine(line);
                long dropped;
                lock (_gate)
                {
                    (dropped, _dropped) = (_dropped, 0);
                }

                if (dropped > 0)
                {
                    _output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} warn log: {dropped} log lines left out (more than {MaxQueued} waited to be written)");
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // Nowhere to say it: a log that cannot be written costs its lines, never the peer.
            }
            finally
            {
                lock (_gate)
                {
                    _writing = false;
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    /// <summary>Waits until every line queued so far is written.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            while ((_queue.Count > 0 || _writing) && _thread.IsAlive)
            {
                Monitor.Wait(_gate, 100);
            }
        }
    }

    /// <summary>Writes what is queued, then stops the writer thread and closes a file output.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.PulseAll(_gate);
        }

        _thread.Join(TimeSpan.FromSeconds(5));
        if (_output != Console.Error)
        {
            _output.Dispose();
        }
    }

    private sealed class LineLogger(string category, LogLevel minimum, LineLoggerFactory factory) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            // One line per entry: the exception's message, never its stack trace (set MESH_LOG=Trace for that).
            // Messages carry names and texts from etcd and from other peers (a member record's name, a reason, an
            // exception's message): no control character or terminal escape of theirs reaches a terminal or a log
            // that someone will cat, whichever call wrote them.
            var detail = exception is null ? ""
                : minimum <= LogLevel.Trace ? $" | {TerminalText.Safe(exception.ToString())}"
                : $" | {exception.GetType().Name}: {TerminalText.OneLine(exception.Message)}";
            var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {Short(logLevel)} {TerminalText.OneLine(category)}: {TerminalText.OneLine(formatter(state, exception))}{detail}";
            factory.Enqueue(line);
        }

        private static string Short(LogLevel level) => level switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            _ => "crit",
        };
    }
}
