namespace Mesh.Monitoring.Watcher;

/// <summary>One value per second over the window: messages stored in history, and their send-to-history latency.</summary>
public sealed record SeriesView(IReadOnlyList<long> Time, IReadOnlyList<double> Rate, IReadOnlyList<double?> LatencyP50, IReadOnlyList<double?> LatencyP99);
