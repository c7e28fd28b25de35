using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Registry;

namespace Mesh.Peer.Session;

/// <summary>Work for the session loop. Everything that changes session state arrives as one of these, in order.</summary>
internal abstract record SessionInput
{
    public sealed record UserLine(string Text, string? Group = null) : SessionInput;

    public sealed record EndOfInput : SessionInput;

    /// <summary>A typed line for <paramref name="Group"/>, routed to that group's lane when it was typed.</summary>
    public sealed record GroupLine(string Group, LineCommand Command) : SessionInput;

    /// <summary>A typed <c>/join</c> or <c>/accept</c> (or a line that is only an invite code), routed to the lane of the
    /// group it joins.</summary>
    public sealed record JoinLine(JoinArguments Join) : SessionInput;

    /// <summary>A typed <c>/msg NAME [TEXT]</c>, routed to the lane of the direct conversation with <paramref name="Partner"/>:
    /// opened if need be, then <paramref name="Text"/> (if any) sent there.</summary>
    public sealed record DirectLine(string Group, Groups.LogMember Partner, string? Text) : SessionInput
    {
        /// <summary>Typed (a line was taken from the user's queue), or asked for at start (<c>--dm</c>).</summary>
        public bool Typed { get; init; } = true;
    }

    /// <summary>Notices of direct conversations with this peer changed in etcd.</summary>
    public sealed record DirectNotices(IReadOnlyList<KeyChange> Changes) : SessionInput;

    /// <summary>A checked notice: the conversation is joined in its lane.</summary>
    public sealed record DirectFound(string Group, Groups.LogMember Partner) : SessionInput;

    /// <summary>A typed <c>/invite</c>, routed to the lane of the group it invites to.</summary>
    public sealed record InviteLine(InviteArguments Invite) : SessionInput;

    /// <summary>A rate-limited warning from work off the loop (see <see cref="RateLimitedWarnings"/>).</summary>
    public sealed record Warning(string Kind, string Message) : SessionInput;

    public sealed record Frame(string PeerId, string Group, byte[] Payload) : SessionInput;

    public sealed record LinkUp(string PeerId) : SessionInput;

    public sealed record LinkTrouble(string PeerId, bool Retrying) : SessionInput;

    public sealed record MembersChanged(string Group, IReadOnlyList<KeyChange> Changes) : SessionInput;

    /// <summary>The names written to a group's history since the revision its copy is complete up to, as of
    /// <paramref name="Revision"/> (a sweep, see <see cref="HistorySweep"/>).</summary>
    public sealed record HistoryNames(string Group, IReadOnlyList<string> Names, long Revision) : SessionInput;

    /// <summary>History entries a sweep fetched because this peer lacked them; <paramref name="CompleteAt"/> is set on the
    /// last page, once everything up to that revision was read.</summary>
    public sealed record HistoryFetched(string Group, IReadOnlyList<Coordinator.History.HistoryEntry> Page, long? CompleteAt) : SessionInput;

    /// <summary>The group's presence records as etcd has them now (re-read after the members watch lost revisions).</summary>
    public sealed record MembersListed(string Group, IReadOnlyList<Coordinator.Membership.MemberRecord> Members) : SessionInput;

    /// <summary>Entries of a group's log (or its genesis) changed in etcd.</summary>
    public sealed record LogChanged(string Group, IReadOnlyList<KeyChange> Changes) : SessionInput;

    /// <summary>A try at a commit came back: <paramref name="Result"/> says whether it was written or what holds the
    /// index now; <paramref name="Error"/> is set when etcd did not answer.</summary>
    public sealed record Appended(string Group, Groups.GroupCommits.Commit Commit, Coordinator.Groups.AppendResult? Result, string? Error) : SessionInput;

    /// <summary>Work that follows another on the slow lane (what to do once a commit ended).</summary>
    public sealed record Continue(string Group, Func<Task> Action) : SessionInput;

    /// <summary>Members asked for keys they lack (or withdrew their ask).</summary>
    public sealed record KeyAsks(string Group, IReadOnlyList<KeyChange> Changes) : SessionInput;

    /// <summary>Invitees asked to be admitted to a group.</summary>
    public sealed record AdmissionRequests(string Group, IReadOnlyList<KeyChange> Changes) : SessionInput;

    /// <summary>Peers marked their exit as clean (they revoke their lease next).</summary>
    public sealed record Exiting(IReadOnlyList<KeyChange> Changes) : SessionInput;

    public sealed record KeyGranted(string Group, IReadOnlyList<KeyChange> Changes) : SessionInput;

    public sealed record Registration(RegistrationState State) : SessionInput;

    public sealed record Notice(string Message) : SessionInput
    {
        /// <summary>See <see cref="ErrorEvent.HistoryPaused"/>.</summary>
        public bool? HistoryPaused { get; init; }
    }

    public sealed record EtcdRetrying(TimeSpan Delay) : SessionInput;

    public sealed record Tick : SessionInput;

    /// <summary>The home's writer said something back (see <see cref="SessionCore.FromHome"/>).</summary>
    public sealed record HomeDone : SessionInput
    {
        public static readonly HomeDone Instance = new();
    }

    /// <summary>A name in a peer's endpoint resolved (or failed to): the links are applied again.</summary>
    public sealed record EndpointsResolved : SessionInput;

    /// <summary>The slow lane took the end of input: the live lane ends too.</summary>
    public sealed record LanesDone : SessionInput
    {
        public static readonly LanesDone Instance = new();
    }
}
