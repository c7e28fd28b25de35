using Mesh.Coordinator;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Logging;

/// <summary>Writes one line per log entry, at a level set by MESH_LOG: to stderr in headless mode (stdout belongs to
/// the JSON-lines contract), to a file under the home while the terminal UI owns the screen. Every line is made
/// printable (<see cref="TerminalText"/>): what others wrote cannot drive the terminal it is read on.</summary>
public sealed class LineLoggerFactory(LogLevel minimum, TextWriter output) : ILoggerFactory
{
    private readonly Lock _gate = new();

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

    public ILogger CreateLogger(string categoryName) => new LineLogger(categoryName, minimum, output, _gate);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
        if (output != Console.Error)
        {
            output.Dispose();
        }
    }

    private sealed class LineLogger(string category, LogLevel minimum, TextWriter output, Lock gate) : ILogger
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
            lock (gate)
            {
                output.WriteLine(line);
            }
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
