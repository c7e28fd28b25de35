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

/// <summary>Progress of loading a group's history at join: <paramref name="Loaded"/> messages so far.</summary>
public sealed record HistoryProgressEvent(string Group, long Loaded) : MeshEvent;

/// <summary>The state of a connection this peer depends on (etcd, or the link to a member), for the user to see at
/// once.</summary>
/// <param name="Target"><c>etcd</c>, or the member's name.</param>
/// <param name="State">What happened to it.</param>
/// <param name="RetryIn">When the next attempt is made, while reconnecting (known for etcd).</param>
/// <param name="Kind">Whether the target is etcd or a member.</param>
public sealed record ConnectionEvent(string Target, ConnectionState State, TimeSpan? RetryIn = null, ConnectionKind Kind = ConnectionKind.Etcd) : MeshEvent;

public enum ConnectionKind
{
    Etcd,
    Member,
}

/// <summary>How many members this peer has a working link to, of how many it follows.</summary>
public sealed record LinksEvent(int Connected, int Known) : MeshEvent;

public enum ConnectionState
{
    Disconnected,
    Reconnecting,
    Reconnected,
}
