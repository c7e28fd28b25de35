using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Mesh.Monitoring;

/// <summary>Resident memory and CPU use of this process, observed when metrics are collected.</summary>
public static class ProcessInstruments
{
    public static void Register(Meter meter)
    {
        meter.CreateObservableGauge(MetricNames.ProcessMemory, () =>
        {
            using var self = Process.GetCurrentProcess();
            return new[]
            {
                new Measurement<long>(self.WorkingSet64, new KeyValuePair<string, object?>("kind", "resident")),
                new Measurement<long>(GC.GetTotalMemory(false), new KeyValuePair<string, object?>("kind", "managed")),
            };
        }, "By", "resident set and managed heap of this process");

        var cpu = new CpuSampler();
        meter.CreateObservableGauge(MetricNames.ProcessCpu, cpu.Sample, "%", "CPU used since the last observation, percent of one core");
    }

    private sealed class CpuSampler
    {
        private readonly object _lock = new();
        private TimeSpan _lastCpu = CurrentCpu();
        private long _lastTicks = Stopwatch.GetTimestamp();

        private static TimeSpan CurrentCpu()
        {
            using var self = Process.GetCurrentProcess();
            return self.TotalProcessorTime;
        }

        public double Sample()
        {
            lock (_lock)
            {
                var cpu = CurrentCpu();
                var now = Stopwatch.GetTimestamp();
                var wall = Stopwatch.GetElapsedTime(_lastTicks, now);
                var used = cpu - _lastCpu;
                _lastCpu = cpu;
                _lastTicks = now;
                return wall <= TimeSpan.Zero ? 0 : 100.0 * used.TotalMilliseconds / wall.TotalMilliseconds;
            }
        }
    }
}
