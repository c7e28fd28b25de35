namespace Mesh.Monitoring.Watcher;

/// <summary>A group: its policy, the names of its members online, the messages its history holds in etcd now
/// (<paramref name="InHistory"/>: counted when the monitor loads, followed since; null until counted), and those
/// the monitor has seen stored since it started.</summary>
public sealed record GroupView(string Name, string Policy, IReadOnlyList<string> Members, long MessagesSeen, long? InHistory = null);
