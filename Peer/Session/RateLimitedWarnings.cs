using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary>Warnings about hostile or broken records, bounded: one line per kind of trouble a minute, and at most
/// <see cref="MaxPerMinute"/> lines a minute in all, however many bad records an etcd writer puts.</summary>
internal sealed class RateLimitedWarnings(ILogger log, TimeProvider? time = null)
{
    public const int MaxPerMinute = 20;

    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<string, DateTimeOffset> _last = new(StringComparer.Ordinal);
    private DateTimeOffset _windowStart;
    private int _inWindow;

    /// <summary>How many warnings were not written because of the limits.</summary>
    public long Suppressed { get; private set; }

    /// <summary>Writes <paramref name="message"/> unless <paramref name="kind"/> was warned of within a minute, or the
    /// minute's budget is spent. Returns whether it was written.</summary>
    public bool Warn(string kind, string message)
    {
        // Monotonic: a wall clock set back never silences warnings, nor one set forward floods them.
        var now = DateTimeOffset.UnixEpoch + _time.GetElapsedTime(0);
        if (now - _windowStart >= Window)
        {
            _windowStart = now;
            _inWindow = 0;
        }

        if ((_last.TryGetValue(kind, out var last) && now - last < Window) || _inWindow >= MaxPerMinute)
        {
            Suppressed++;
            return false;
        }

        if (_last.Count > 10_000)
        {
            _last.Clear();
        }

        _last[kind] = now;
        _inWindow++;
        log.LogWarning("{Message}", message);
        return true;
    }
}
