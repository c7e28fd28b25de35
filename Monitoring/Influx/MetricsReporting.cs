using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Mesh.Monitoring.Influx;

/// <summary>A collector listening to some meters and a reporter sending what it collects, started and stopped together.</summary>
public sealed class MetricsReporting : IAsyncDisposable
{
    private readonly Meter _own = new(MetricNames.MeterName);
    private readonly MetricsCollector _collector;

    private MetricsReporting(InfluxSettings settings, IEnumerable<Meter> meters, IReadOnlyList<KeyValuePair<string, string>> tags, ILogger log)
    {
        _collector = new MetricsCollector(meters.Append(_own));
        Reporter = new InfluxReporter(settings, _collector, tags, _own, log);
        Reporter.Start();
    }

    public InfluxReporter Reporter { get; }

    /// <summary>Starts reporting the instruments of <paramref name="meters"/>, tagged with <paramref name="tags"/> and
    /// the host name; null when no InfluxDB is configured.</summary>
    public static MetricsReporting? Start(InfluxSettings? settings, IEnumerable<Meter> meters, IEnumerable<KeyValuePair<string, string>> tags, ILogger log) =>
        settings is null ? null : new MetricsReporting(settings, meters, [new("host", Environment.MachineName), .. tags], log);

    public async ValueTask DisposeAsync()
    {
        await Reporter.DisposeAsync();
        _collector.Dispose();
        _own.Dispose();
    }
}
