namespace Mesh.Monitoring.Watcher;

/// <summary>A source the monitor follows changed state: it was lost (<paramref name="Lost"/>) or answers again.
/// <paramref name="Text"/> is the one line the log and the page's events say, like "etcd unreachable at
/// http://127.0.0.1:2379 (connection refused: …)" or "etcd back after 15.2 s".</summary>
public sealed record SourceChange(bool Lost, string Text);
