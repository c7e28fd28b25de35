using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Logging;

/// <summary>Writes log lines to stderr (stdout belongs to the JSON-lines contract), at a level set by MESH_LOG.</summary>
public sealed class StderrLoggerFactory(LogLevel minimum) : ILoggerFactory
{
    private static readonly Lock Gate = new();

    public static StderrLoggerFactory FromEnvironment() =>
        new(Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("MESH_LOG"), ignoreCase: true, out var level)
            ? level
            : LogLevel.Warning);

    public ILogger CreateLogger(string categoryName) => new StderrLogger(categoryName, minimum);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    private sealed class StderrLogger(string category, LogLevel minimum) : ILogger
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
            var detail = exception is null ? "" : minimum <= LogLevel.Trace ? $" | {exception}" : $" | {exception.GetType().Name}: {exception.Message}";
            var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {Short(logLevel)} {category}: {formatter(state, exception)}{detail}";
            lock (Gate)
            {
                Console.Error.WriteLine(line);
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
