namespace Mesh.Peer.Session;

/// <summary>Something the user should see. The TUI and the headless writer both read these, and nothing else.</summary>
public abstract record MeshEvent;

/// <summary>Joined <paramref name="Group"/>: connected to the members known then, history loaded.</summary>
/// <param name="Group">The group.</param>
/// <param name="Members">Every online member's label (its name, with a fingerprint where two share it), this peer's included.</param>
/// <param name="Peers">The same members with their peer ids.</param>
public sealed record ReadyEvent(string Group, IReadOnlyList<string> Members, IReadOnlyList<MemberId>? Peers = null) : MeshEvent;

/// <summary>A member as shown: its label and its peer id.</summary>
public sealed record MemberId(string Name, string PeerId);

/// <summary>The members of a group as its log holds them (<c>/members</c>), and the key epoch this peer sends under.</summary>
public sealed record MembersEvent(string Group, long Epoch, IReadOnlyList<MembersEvent.Entry> Members) : MeshEvent
{
    /// <param name="Name">Its label.</param>
    /// <param name="PeerId">Its peer id.</param>
    /// <param name="Online">Whether it is online (its signed presence record is in etcd).</param>
    /// <param name="Role"><c>creator</c>, <c>admin</c> or <c>member</c>.</param>
    public sealed record Entry(string Name, string PeerId, bool Online, string Role)
    {
        /// <summary>The link to it ("up", "down", …; "self" for this peer).</summary>
        public string Link { get; init; } = "";

        /// <summary>The round trip to it measured on the beats, when there is one.</summary>
        public TimeSpan? Rtt { get; init; }
    }
}

/// <summary>A message of a group, shown once: history first, then live ones.</summary>
public sealed record MessageEvent(string Group, string Id, string From, string Text, DateTimeOffset SentAt, bool Own) : MeshEvent
{
    /// <summary>The message's order stamp: every view of a group lists its messages by <see cref="Key"/>.</summary>
    public long Order { get; init; }

    /// <summary>The message's history key (order stamp, sender, run, position): one total order for every view.</summary>
    public string Key { get; init; } = "";

    /// <summary>The sender's peer id (the chat screen relabels a sender's lines when a second member takes the name).</summary>
    public string? PeerId { get; init; }

    /// <summary>For a reply: the id of the message it answers.</summary>
    public string? ReplyTo { get; init; }

    /// <summary>For a message read from its tombstone (deleted before this peer read it): the delete. Its text is
    /// then empty, for good.</summary>
    public DeleteEvent? Deleted { get; init; }
}

/// <summary>A message of a kind other than saying something (a reaction, an edit, a delete), about the message
/// <see cref="Target"/>; in the group's one order like every message.</summary>
public abstract record KindEvent(string Group, string Id, string Target, string From, DateTimeOffset SentAt) : MeshEvent
{
    /// <summary>Its history key (order stamp, sender, run, position).</summary>
    public string Key { get; init; } = "";

    /// <summary>The sender's peer id.</summary>
    public string PeerId { get; init; } = "";

    /// <summary>Sent by this peer (in this run or an earlier one).</summary>
    public bool Own { get; init; }
}

/// <summary>A member added a reaction to a message, or took it back (<paramref name="Removed"/>).</summary>
public sealed record ReactionEvent(string Group, string Id, string Target, string From, string Emoji, bool Removed, DateTimeOffset SentAt)
    : KindEvent(Group, Id, Target, From, SentAt);

/// <summary>The author of a message gave it a new text.</summary>
public sealed record EditEvent(string Group, string Id, string Target, string From, string Text, DateTimeOffset SentAt)
    : KindEvent(Group, Id, Target, From, SentAt);

/// <summary>A message was deleted, by its author or an admin of the group.</summary>
public sealed record DeleteEvent(string Group, string Id, string Target, string From, DateTimeOffset SentAt)
    : KindEvent(Group, Id, Target, From, SentAt);

/// <summary>A member came online in a group, or went: <paramref name="Reason"/> says how.</summary>
/// <param name="Group">The group.</param>
/// <param name="Name">Its label.</param>
/// <param name="PeerId">Its peer id.</param>
/// <param name="Joined">Came online (true) or went (false).</param>
/// <param name="Reason">For a member that went: <see cref="Left"/>, <see cref="Removed"/>, <see cref="Exited"/> or <see cref="Expired"/>.</param>
public sealed record MemberEvent(string Group, string Name, string PeerId, bool Joined, string? Reason = null) : MeshEvent
{
    /// <summary>It left the group (a signed leave in the log).</summary>
    public const string Left = "left";

    /// <summary>It was removed from the group (a signed removal in the log).</summary>
    public const string Removed = "removed";

    /// <summary>Its process exited cleanly; it is still a member.</summary>
    public const string Exited = "exited";

    /// <summary>Its lease expired (crashed, frozen or cut off); it is still a member.</summary>
    public const string Expired = "expired";

    /// <summary>Who removed it (their label), for a removal.</summary>
    public string? By { get; init; }
}

/// <summary>Something went wrong that the user must know about.</summary>
public sealed record ErrorEvent(string Message) : MeshEvent
{
    /// <summary>The group the line is about, when it is about one (the chat screen shows it there).</summary>
    public string? Group { get; init; }

    /// <summary>Set when the line is about history writes: true when they stopped, false when they resumed.</summary>
    public bool? HistoryPaused { get; init; }
}

/// <summary>Something the user should know that is not a failure: a group created, a question to confirm.</summary>
public sealed record InfoEvent(string Message, string? Group = null) : MeshEvent
{
    /// <summary>Set when it says that history writes work again (after an <see cref="ErrorEvent"/> that paused them).</summary>
    public bool HistoryResumed { get; init; }
}

/// <summary>An invite this user made with <c>/invite</c>: for this user's eyes only (never sent to the group), to hand
/// to the invitee out of band.</summary>
/// <param name="Group">The group it admits to.</param>
/// <param name="Code">The code the invitee types after <c>/accept</c> (or gives to <c>mesh join</c>).</param>
/// <param name="ExpiresAt">When its record in etcd expires; it admits once.</param>
public sealed record InviteEvent(string Group, string Code, DateTimeOffset ExpiresAt) : MeshEvent;

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

/// <summary>Each followed member's link ("up", "down", …) and the round trip measured on the beats.</summary>
public sealed record LinkHealthEvent(IReadOnlyList<LinkHealthEvent.Entry> Members) : MeshEvent
{
    public sealed record Entry(string PeerId, string Link, TimeSpan? Rtt);
}

public enum ConnectionState
{
    Disconnected,
    Reconnecting,
    Reconnected,
}
