namespace Mesh.Monitoring.Watcher;

/// <summary>A group: its policy, the names of its members online, and the messages seen stored since the monitor started.</summary>
public sealed record GroupView(string Name, string Policy, IReadOnlyList<string> Members, long MessagesSeen);
