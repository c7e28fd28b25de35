namespace Mesh.Monitoring.Watcher;

/// <summary>How current what the monitor shows from one source (etcd, InfluxDB) is: when it last answered, since
/// when it has not, and why, in plain words. Thread-safe: the tasks that talk to the source tell it, the page reads it.</summary>
/// <remarks>A source is <c>lost</c> once it has failed for <see cref="StaleAfter"/> with no answer in between (or
/// failed before ever answering): one failed request among good ones does not raise the banner. It is lost as well
/// when nothing has answered for <see cref="MaxSilence"/>, failure or not: a task that stopped telling (stuck on a
/// call) cannot leave old figures looking live.</remarks>
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
    private bool _lossTold;

    public SourceFreshness(string name, TimeSpan staleAfter, TimeSpan maxSilence, TimeProvider? time = null, bool configured = true)
    {
        Name = name;
        StaleAfter = staleAfter;
        MaxSilence = maxSilence;
        Configured = configured;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>What the source is called on the page ("etcd", "InfluxDB").</summary>
    public string Name { get; }

    public TimeSpan StaleAfter { get; }

    /// <summary>How long the source may go without an answer before it is lost, whatever was told.</summary>
    public TimeSpan MaxSilence { get; }

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
            _lossTold = false;
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
                told = $"{Name} lost: {CauseLocked(NowMs)}";
            }
        }

        if (told is not null)
        {
            Changed?.Invoke(told);
        }
    }

    public SourceView View()
    {
        NoteLoss();
        lock (_lock)
        {
            var now = NowMs;
            return new SourceView(Name, StateLocked(now), _answeredMs, _failingSinceMs ?? (Silent(now) ? _answeredMs : null), CauseLocked(now),
                _answeredMs is { } at ? now - at : null);
        }
    }

    private bool Silent(long now) => _answeredMs is { } at && now - at >= MaxSilence.TotalMilliseconds;

    private string? CauseLocked(long now) =>
        _cause ?? (Silent(now) ? $"no answer for {MaxSilence.TotalSeconds:0} s" : null);

    private string StateLocked(long now)
    {
        if (!Configured)
        {
            return Off;
        }

        if ((_failingSinceMs is { } since && now - since >= StaleAfter.TotalMilliseconds) || Silent(now))
        {
            return Lost;
        }

        return _answeredMs is null ? Connecting : Live;
    }
}

/// <summary>One source as the page shows it: its state (<c>connecting</c>, <c>live</c>, <c>lost</c>, <c>off</c>), when it
/// last answered and how long ago, since when it fails, and why.</summary>
public sealed record SourceView(string Name, string State, long? AnsweredAt, long? FailingSince, string? Cause, long? AgeMs);
