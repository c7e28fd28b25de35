namespace Mesh.Peer.Session;

/// <summary>Something the user should see. The TUI and the headless writer both read these, and nothing else.</summary>
public abstract record MeshEvent;

/// <summary>Joined <paramref name="Group"/>: connected to the members known then, history loaded.</summary>
public sealed record ReadyEvent(string Group, IReadOnlyList<string> Members) : MeshEvent;

/// <summary>A message of a group, shown once: history first, then live ones.</summary>
public sealed record MessageEvent(string Group, string Id, string From, string Text, DateTimeOffset SentAt, bool Own) : MeshEvent;

/// <summary>A member came online in a group, or left it.</summary>
public sealed record MemberEvent(string Group, string Name, bool Joined) : MeshEvent;

/// <summary>Something went wrong that the user must know about.</summary>
public sealed record ErrorEvent(string Message) : MeshEvent;

/// <summary>Joining <paramref name="Group"/> waits on something (a member to hand over the group key).</summary>
public sealed record WaitingEvent(string Group, string Message) : MeshEvent;
