namespace Mesh.Coordinator.Groups;

/// <summary>A group as listed by <c>mesh groups</c>: its name and how many members are online.</summary>
public sealed record GroupSummary(string Group, long Members);
