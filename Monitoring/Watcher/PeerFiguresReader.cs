using Mesh.Monitoring.Influx;
using Microsoft.Extensions.Logging;

namespace Mesh.Monitoring.Watcher;

/// <summary>Reads each peer's own figures (delivery latency, outbox backlog) from InfluxDB every
/// <see cref="Interval"/> for the status page, and tells the view's InfluxDB freshness how it went.</summary>
public sealed partial class PeerFiguresReader : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>Peers whose figures are kept from one read: more (a flood of made-up peer tags) are not read.</summary>
    public const int MaxPeers = 2_000;

    public static readonly string LatencyQuery =
        $"SELECT \"p50\", \"p99\", \"count\" FROM \"{MetricNames.Measurement(MetricNames.DeliveryLatency)}\" WHERE time > now() - 1m GROUP BY \"peer\", \"group\" ORDER BY time DESC LIMIT 1 SLIMIT {MaxPeers}";

    public static readonly string BacklogQuery =
        $"SELECT \"value\" FROM \"{MetricNames.Measurement(MetricNames.OutboxBacklog)}\" WHERE time > now() - 1m GROUP BY \"peer\" ORDER BY time DESC LIMIT 1 SLIMIT {MaxPeers}";

    private readonly InfluxQuery _query;
    private readonly MeshView _view;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public PeerFiguresReader(InfluxSettings settings, MeshView view, ILogger log)
    {
        _query = new InfluxQuery(settings);
        _view = view;
        _log = log;
    }

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    private async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                _view.SetPeerFigures(await ReadAsync(ct));
                _view.Influx.Answered();
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
                // Whatever InfluxDB answered, the next read is another chance: this task never ends the monitor.
                LogReadFailed(e.GetType().Name, e.Message);
                _view.Influx.Failed("its answer could not be read");
            }
        }
        while (await Ticks.NextAsync(timer, ct));
    }

    /// <summary>Every peer's figures from one pair of queries.</summary>
    public async Task<Dictionary<string, PeerFigures>> ReadAsync(CancellationToken ct) =>
        Combine(await _query.QueryAsync(LatencyQuery, ct), await _query.QueryAsync(BacklogQuery, ct));

    /// <summary>Joins the latency series (one per peer and group) and the backlog series (one per peer) by peer.</summary>
    public static Dictionary<string, PeerFigures> Combine(IReadOnlyList<InfluxSeries> latency, IReadOnlyList<InfluxSeries> backlog)
    {
        var figures = new Dictionary<string, PeerFigures>(StringComparer.Ordinal);
        foreach (var byPeer in latency.Where(s => s.Rows.Count > 0 && s.Tags.ContainsKey("peer")).GroupBy(s => s.Tags["peer"], StringComparer.Ordinal).Take(MaxPeers))
        {
            double weighted = 0, counted = 0;
            double? worst = null;
            long at = 0;
            foreach (var series in byPeer)
            {
                var row = series.Rows[0];
                var count = series.Number(row, "count") ?? 0;
                at = Math.Max(at, (long)(series.Number(row, "time") ?? 0));
                if (series.Number(row, "p50") is { } median && count > 0)
                {
                    weighted += median * count;
                    counted += count;
                }

                if (series.Number(row, "p99") is { } tail)
                {
                    worst = Math.Max(worst ?? tail, tail);
                }
            }

            figures[byPeer.Key] = new PeerFigures(counted > 0 ? weighted / counted : null, worst, null, at);
        }

        foreach (var series in backlog.Where(s => s.Rows.Count > 0 && s.Tags.ContainsKey("peer")).Take(MaxPeers))
        {
            var row = series.Rows[0];
            var value = series.Number(row, "value");
            var at = (long)(series.Number(row, "time") ?? 0);
            var peer = series.Tags["peer"];
            figures[peer] = figures.TryGetValue(peer, out var known)
                ? known with { OutboxBacklog = value is { } v ? (long)v : null, AtMs = Math.Max(known.AtMs, at) }
                : new PeerFigures(null, null, value is { } b ? (long)b : null, at);
        }

        return figures;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _query.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 811, Level = LogLevel.Warning, Message = "reading peers' figures from InfluxDB failed ({Type}: {Reason}); reading again in 5 s")]
    private partial void LogReadFailed(string type, string reason);
}
