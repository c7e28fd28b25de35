using System.Text.Json;
using Mesh.Monitoring.Influx;
using Microsoft.Extensions.Logging;

namespace Mesh.Monitoring.Watcher;

/// <summary>Keeps the monitor's events across its restarts, in InfluxDB: each event goes out with the metrics as a
/// point of <c>mesh_events</c> (tag <c>kind</c>, field <c>text</c>; what Grafana's annotations read), and at start the
/// last <see cref="Kept"/> of the past week are read back (retried until InfluxDB answers).</summary>
/// <remarks>Whoever can write to the database can write events too: they are shown as text, one line each, bounded
/// in number and length, and nothing acts on them.</remarks>
public sealed partial class EventJournal : IAsyncDisposable
{
    public const string Measurement = "mesh_events";
    public const int Kept = 200;

    public static readonly string ReadBackQuery = $"SELECT \"text\", \"kind\" FROM \"{Measurement}\" WHERE time > now() - 7d ORDER BY time DESC LIMIT {Kept}";

    private static readonly TimeSpan RetryEvery = TimeSpan.FromSeconds(5);

    private readonly InfluxReporter _reporter;
    private readonly InfluxQuery _query;
    private readonly MeshView _view;
    private readonly ILogger _log;
    private readonly IReadOnlyList<KeyValuePair<string, string>> _tags;
    private readonly CancellationTokenSource _stop = new();
    private Task? _readBack;

    public EventJournal(InfluxSettings settings, InfluxReporter reporter, MeshView view, ILogger log)
    {
        _reporter = reporter;
        _query = new InfluxQuery(settings);
        _view = view;
        _log = log;
        _tags = [new("host", Environment.MachineName)];
    }

    /// <summary>The point an event is kept as.</summary>
    public static LinePoint Point(MeshEventView e, IReadOnlyList<KeyValuePair<string, string>> tags) =>
        new(Measurement, [.. tags, new("kind", e.Kind)], [new("text", e.Text)], DateTimeOffset.FromUnixTimeMilliseconds(e.Time));

    /// <summary>The events of an answer to <see cref="ReadBackQuery"/>, skipping rows that are not events.</summary>
    public static IEnumerable<MeshEventView> Parse(IReadOnlyList<InfluxSeries> answer)
    {
        foreach (var series in answer)
        {
            var time = series.IndexOf("time");
            var text = series.IndexOf("text");
            var kind = series.IndexOf("kind");
            foreach (var row in series.Rows.Take(Kept))
            {
                if (time < 0 || text < 0 || kind < 0 || row.Length <= Math.Max(time, Math.Max(text, kind))
                    || row[time].ValueKind != JsonValueKind.Number || row[text].ValueKind != JsonValueKind.String || row[kind].ValueKind != JsonValueKind.String)
                {
                    continue;
                }

                yield return new MeshEventView(row[time].GetInt64(), row[text].GetString()!, row[kind].GetString()!);
            }
        }
    }

    /// <summary>From now on every event is written; the earlier ones are read back in the background.</summary>
    public void Start()
    {
        _view.EventAdded += Write;
        _readBack = Task.Run(() => ReadBackAsync(_stop.Token));
    }

    private void Write(MeshEventView e) => _reporter.Enqueue([Point(e, _tags)]);

    private async Task ReadBackAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var earlier = Parse(await _query.QueryAsync(ReadBackQuery, ct)).ToList();
                _view.Restore(earlier);
                LogRestored(earlier.Count);
                return;
            }
            catch (InfluxUnavailableException e)
            {
                _view.Influx.Failed(e.Message);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogReadFailed(e.GetType().Name, e.Message);
            }

            try
            {
                await Task.Delay(RetryEvery, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _view.EventAdded -= Write;
        await _stop.CancelAsync();
        if (_readBack is not null)
        {
            await _readBack;
        }

        _query.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 821, Level = LogLevel.Information, Message = "read back {Count} events from InfluxDB")]
    private partial void LogRestored(int count);

    [LoggerMessage(EventId = 822, Level = LogLevel.Warning, Message = "reading events back from InfluxDB failed ({Type}: {Reason}); trying again in 5 s")]
    private partial void LogReadFailed(string type, string reason);
}
