using System.Diagnostics.Metrics;

namespace Mesh.Monitoring;

/// <summary>A figure mesh monitor reports at every interval whatever it sees: its absence is the one sign that the
/// monitor itself stopped reporting (every other rule treats missing figures as no evidence).</summary>
public static class MonitorHeartbeat
{
    /// <summary>Reports the seconds since <paramref name="started"/> at every collection (a restart shows as a drop).</summary>
    public static void Register(Meter meter, TimeProvider time, DateTimeOffset started) =>
        meter.CreateObservableGauge(MetricNames.MonitorHeartbeat, () => Math.Max(0, (time.GetUtcNow() - started).TotalSeconds), "s",
            "seconds since mesh monitor started, reported every interval");
}
