using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Mesh.Monitoring.Influx;

/// <summary>Pushes what a <see cref="MetricsCollector"/> gathered to InfluxDB 1.x, every interval, in line protocol.</summary>
/// <remarks>
/// Reporting never stands in the way of the chat: it runs on its own task, and every request has a deadline.
/// While InfluxDB is unreachable, points wait in a bounded buffer and go out, oldest first, once it answers again;
/// beyond <see cref="InfluxSettings.BufferCapacity"/> the oldest are dropped, and that count is itself reported
/// (<c>mesh.influx.dropped</c>). A missing database is created. Points InfluxDB refuses as malformed are logged
/// and not sent again.
/// </remarks>
public sealed partial class InfluxReporter : IAsyncDisposable
{
    private const int MaxLinesPerRequest = 5_000;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly InfluxSettings _settings;
    private readonly MetricsCollector _collector;
    private readonly IReadOnlyList<KeyValuePair<string, string>> _tags;
    private readonly ILogger _log;
    private readonly HttpClient _http;
    private readonly LinkedList<string> _buffer = new();
    private readonly object _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private Task? _loop;
    private long _dropped;
    private long _sent;
    private bool _reachable = true;

    public InfluxReporter(InfluxSettings settings, MetricsCollector collector, IReadOnlyList<KeyValuePair<string, string>> tags,
        Meter meter, ILogger log, HttpMessageHandler? handler = null)
    {
        _settings = settings;
        _collector = collector;
        _tags = tags;
        _log = log;
        _http = settings.NewClient(RequestTimeout, handler);

        meter.CreateObservableCounter(MetricNames.InfluxDropped, () => Interlocked.Read(ref _dropped), "{point}", "points dropped because InfluxDB did not take them in time");
        meter.CreateObservableGauge(MetricNames.InfluxBuffered, () => Buffered, "{point}", "points waiting for InfluxDB");
    }

    /// <summary>Raised after each write: null when InfluxDB took it, or why it did not (plain words).</summary>
    public event Action<string?>? Outcome;

    /// <summary>Points waiting to be sent.</summary>
    public int Buffered
    {
        get
        {
            lock (_lock)
            {
                return _buffer.Count;
            }
        }
    }

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Points InfluxDB has taken so far.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    public void Start() => _loop = Task.Run(RunAsync);

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(_settings.Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                await ReportAsync(_stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Takes a snapshot and sends what is buffered; never throws for InfluxDB's sake.</summary>
    public async Task ReportAsync(CancellationToken ct)
    {
        Enqueue(_collector.Snapshot(_tags));
        await _sending.WaitAsync(ct);
        try
        {
            await SendBufferedAsync(ct);
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>Points to go out with the next report (events, say), buffered and retried like the rest.</summary>
    public void Enqueue(IReadOnlyList<LinePoint> points)
    {
        lock (_lock)
        {
            foreach (var point in points)
            {
                _buffer.AddLast(LineProtocol.Format(point));
            }

            while (_buffer.Count > _settings.BufferCapacity)
            {
                _buffer.RemoveFirst();
                _dropped++;
            }
        }
    }

    private async Task SendBufferedAsync(CancellationToken ct)
    {
        while (true)
        {
            List<string> batch;
            lock (_lock)
            {
                batch = _buffer.Take(MaxLinesPerRequest).ToList();
            }

            if (batch.Count == 0)
            {
                return;
            }

            var outcome = await WriteAsync(batch, ct);
            if (outcome == WriteOutcome.Retry)
            {
                return;
            }

            lock (_lock)
            {
                // Only this task removes from the front, so the batch is still there.
                for (var i = 0; i < batch.Count && _buffer.Count > 0; i++)
                {
                    _buffer.RemoveFirst();
                }
            }

            if (outcome == WriteOutcome.Sent)
            {
                Interlocked.Add(ref _sent, batch.Count);
            }
        }
    }

    private enum WriteOutcome
    {
        Sent,
        Refused,
        Retry,
    }

    private async Task<WriteOutcome> WriteAsync(List<string> lines, CancellationToken ct)
    {
        var body = string.Join('\n', lines);
        try
        {
            var response = await PostAsync(body, ct);
            if (response.StatusCode == HttpStatusCode.NotFound && (await response.Content.ReadAsStringAsync(ct)).Contains("database not found", StringComparison.Ordinal))
            {
                response.Dispose();
                await CreateDatabaseAsync(ct);
                response = await PostAsync(body, ct);
            }

            using var answered = response;
            if (response.IsSuccessStatusCode)
            {
                Reachable(true, null);
                return WriteOutcome.Sent;
            }

            var detail = Coordinator.NetworkWords.OneLine(await response.Content.ReadAsStringAsync(ct));
            if ((int)response.StatusCode is >= 400 and < 500 && response.StatusCode is not HttpStatusCode.Unauthorized and not HttpStatusCode.Forbidden and not HttpStatusCode.NotFound)
            {
                // Malformed points stay malformed: sending them again would block everything behind them.
                Reachable(true, null);
                LogRefused(lines.Count, (int)response.StatusCode, detail);
                return WriteOutcome.Refused;
            }

            Reachable(false, response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
                ? $"HTTP {(int)response.StatusCode}: InfluxDB refused the credentials ({detail})"
                : $"HTTP {(int)response.StatusCode}: {detail}");
            return WriteOutcome.Retry;
        }
        catch (Exception e) when ((e is HttpRequestException or TaskCanceledException) && !ct.IsCancellationRequested)
        {
            Reachable(false, e is HttpRequestException http ? Coordinator.NetworkWords.Words(http) : $"no answer within {RequestTimeout.TotalSeconds:0} s");
            return WriteOutcome.Retry;
        }
    }

    private async Task<HttpResponseMessage> PostAsync(string body, CancellationToken ct)
    {
        using var content = new StringContent(body, Encoding.UTF8, "text/plain");
        return await _http.PostAsync(_settings.WriteUrl, content, ct);
    }

    private async Task CreateDatabaseAsync(CancellationToken ct)
    {
        var quoted = _settings.Database.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
        using var form = new FormUrlEncodedContent([new("q", $"CREATE DATABASE \"{quoted}\"")]);
        using var response = await _http.PostAsync(_settings.QueryUrl, form, ct);
        LogDatabaseCreated(_settings.Database, (int)response.StatusCode);
    }

    private void Reachable(bool reachable, string? reason)
    {
        Outcome?.Invoke(reachable ? null : reason ?? "no answer");
        if (reachable == _reachable)
        {
            return;
        }

        _reachable = reachable;
        if (reachable)
        {
            LogReachable(_settings.Describe, Buffered);
        }
        else
        {
            LogUnreachable(_settings.Describe, reason ?? "", _settings.BufferCapacity);
        }
    }

    /// <summary>Sends a last snapshot, waiting at most <paramref name="timeout"/>.</summary>
    public async Task FlushAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await ReportAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
            // What happened since the last report, sent once more on the way out.
            await FlushAsync(TimeSpan.FromSeconds(2));
        }

        _http.Dispose();
        _stop.Dispose();
        _sending.Dispose();
    }

    [LoggerMessage(EventId = 901, Level = LogLevel.Warning, Message = "InfluxDB at {Url} does not take metrics ({Reason}); keeping up to {Capacity} points and retrying every interval")]
    private partial void LogUnreachable(string url, string reason, int capacity);

    [LoggerMessage(EventId = 902, Level = LogLevel.Information, Message = "InfluxDB at {Url} takes metrics again; sending {Buffered} buffered points")]
    private partial void LogReachable(string url, int buffered);

    [LoggerMessage(EventId = 903, Level = LogLevel.Warning, Message = "InfluxDB refused {Count} points (HTTP {Status}): {Detail}")]
    private partial void LogRefused(int count, int status, string detail);

    [LoggerMessage(EventId = 904, Level = LogLevel.Information, Message = "created InfluxDB database '{Database}' (HTTP {Status})")]
    private partial void LogDatabaseCreated(string database, int status);
}
