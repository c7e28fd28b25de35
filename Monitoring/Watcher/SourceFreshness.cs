namespace Mesh.Monitoring.Watcher;

/// <summary>How current what the monitor shows from one source (etcd, InfluxDB) is: when it last answered, since
/// when it has not, and why, in plain words. Thread-safe: the tasks that talk to the source tell it, the page reads it.</summary>
/// <remarks>A source is <c>lost</c> once it has failed for <see cref="StaleAfter"/> with no answer in between (or
/// failed before ever answering): one failed request among good ones does not raise the banner.</remarks>
public sealed class SourceFreshness
{
    public const string Connecting = "connecting";
    public const string Live = "live";
    public const string Lost = "lost";
    public const string Off = "off";

    private readonly object _lock = new();
    private readonly TimeProvider _time;
    private long? _answeredMs;
    private long? _failingSinceMs;
    private string? _cause;

    public SourceFreshness(string name, TimeSpan staleAfter, TimeProvider? time = null, bool configured = true)
    {
        Name = name;
        StaleAfter = staleAfter;
        Configured = configured;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>What the source is called on the page ("etcd", "InfluxDB").</summary>
    public string Name { get; }

    public TimeSpan StaleAfter { get; }

    /// <summary>False when the monitor was not given the source (no InfluxDB configured).</summary>
    public bool Configured { get; }

    /// <summary>Raised (outside the lock) when the source is lost, with its cause, and when it answers again after that.</summary>
    public event Action<string>? Changed;

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The source answered a request just now.</summary>
    public void Answered()
    {
        string? told = null;
        lock (_lock)
        {
            var wasLost = StateLocked(NowMs) == Lost;
            _answeredMs = NowMs;
            _failingSinceMs = null;
            _cause = null;
            if (wasLost)
            {
                told = $"{Name} answers again";
            }
        }

        if (told is not null)
        {
            Changed?.Invoke(told);
        }
    }

    /// <summary>A request to the source failed just now, for <paramref name="cause"/> (plain words).</summary>
    public void Failed(string cause)
    {
        lock (_lock)
        {
            _failingSinceMs ??= NowMs;
            _cause = cause;
        }

        NoteLoss();
    }

    /// <summary>Tells <see cref="Changed"/> once when a failing source has become lost (called on failures and on reads).</summary>
    private void NoteLoss()
    {
        string? told = null;
        lock (_lock)
        {
            if (StateLocked(NowMs) == Lost && !_lossTold)
            {
                _lossTold = true;
                told = $"{Name} lost: {_cause}";
            }
            else if (_failingSinceMs is null)
            {
                _lossTold = false;
            }
        }

        if (told is not null)
        {
            Changed?.Invoke(told);
        }
    }

    private bool _lossTold;

    public SourceView View()
    {
        NoteLoss();
        lock (_lock)
        {
            var now = NowMs;
            return new SourceView(Name, StateLocked(now), _answeredMs, _failingSinceMs, _cause,
                _answeredMs is { } at ? now - at : null);
        }
    }

    private string StateLocked(long now)
    {
        if (!Configured)
        {
            return Off;
        }

        if (_failingSinceMs is { } since && now - since >= StaleAfter.TotalMilliseconds)
        {
            return Lost;
        }

        return _answeredMs is null ? Connecting : Live;
    }
}

/// <summary>One source as the page shows it: its state (<c>connecting</c>, <c>live</c>, <c>lost</c>, <c>off</c>), when it
/// last answered and how long ago, since when it fails, and why.</summary>
public sealed record SourceView(string Name, string State, long? AnsweredAt, long? FailingSince, string? Cause, long? AgeMs);
