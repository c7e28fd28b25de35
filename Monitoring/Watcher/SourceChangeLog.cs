using Microsoft.Extensions.Logging;

namespace Mesh.Monitoring.Watcher;

/// <summary>mesh monitor's log of its sources (etcd, each etcd member, InfluxDB): one line when one is lost, with the
/// cause in plain words, and one when it is back, with how long it was gone; nothing for the failed requests in
/// between, and never an exception's text. The state is each source's <see cref="SourceFreshness"/>: the log says what
/// the page's banner and events say, when they say it.</summary>
public sealed partial class SourceChangeLog(ILogger log)
{
    private readonly ILogger _log = log;

    /// <summary>Logs every change of <paramref name="source"/> from now on.</summary>
    public void Follow(SourceFreshness source) => source.Changed += Write;

    private void Write(SourceChange change)
    {
        if (change.Lost)
        {
            LogLost(change.Text);
        }
        else
        {
            LogBack(change.Text);
        }
    }

    [LoggerMessage(EventId = 831, Level = LogLevel.Warning, Message = "{Text}")]
    private partial void LogLost(string text);

    [LoggerMessage(EventId = 832, Level = LogLevel.Information, Message = "{Text}")]
    private partial void LogBack(string text);
}
