using Microsoft.Extensions.Logging;

namespace Mesh.Coordinator.History;

/// <summary>Counts the history values that reads left out for being larger than any message, and says so in one
/// warning a minute at most, naming the count: 70 MB of junk is one line, not one line per value.</summary>
/// <remarks>Counts that come within a minute of a warning wait for the first read after that minute.</remarks>
public sealed partial class OversizedValues(ILogger? log, TimeProvider? time = null)
{
    /// <summary>The least time between two warnings.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private long _total;
    private long _pending;
    private string _lastGroup = "";
    private DateTimeOffset? _warnedAt;

    /// <summary>How many values were left out so far, in all.</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>Notes that a read of <paramref name="group"/>'s history left out <paramref name="count"/> values (0 is
    /// fine: it lets a count noted earlier be told once its minute is over).</summary>
    public void Add(string group, long count)
    {
        long warn;
        string where;
        lock (_lock)
        {
            if (count > 0)
            {
                _total += count;
                _pending += count;
                _lastGroup = group;
            }

            var now = _time.GetUtcNow();
            if (_pending == 0 || now - _warnedAt < Interval)
            {
                return;
            }

            warn = _pending;
            where = _lastGroup;
            _pending = 0;
            _warnedAt = now;
        }

        if (log is not null)
        {
            LogLeftOut(log, warn, EtcdHistoryStore.MaxValueBytes, where);
        }
    }

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning,
        Message = "left out {Count} history values larger than any message ({MaxBytes} bytes), the last in '{Group}': not Mesh's records but an etcd writer's junk")]
    private static partial void LogLeftOut(ILogger log, long count, int maxBytes, string group);
}
