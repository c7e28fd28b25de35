namespace Mesh.Peer.Session;

/// <summary>The parts of one session, each owning its concern's state; made together by <see cref="ChatSession"/>, the
/// one place that composes them, so that each can call the others it works with.</summary>
internal sealed class SessionParts
{
    public LinkSupervisor Links { get; set; } = null!;

    public Presence Presence { get; set; } = null!;

    public GroupLifecycle Lifecycle { get; set; } = null!;

    public GroupJoiner Joiner { get; set; } = null!;

    public HistoryLoader Loader { get; set; } = null!;

    public LogKeeper Follow { get; set; } = null!;

    public CommitRunner Commits { get; set; } = null!;

    public Admissions Admissions { get; set; } = null!;

    public KeyKeeper Keys { get; set; } = null!;

    public MemberCommands Commands { get; set; } = null!;

    public KindCommands Kinds { get; set; } = null!;

    public Receiver Receiver { get; set; } = null!;

    public Beats Beats { get; set; } = null!;

    public HistorySweeps Sweeps { get; set; } = null!;

    public Erasures Erasures { get; set; } = null!;

    public LineHandler Lines { get; set; } = null!;

    public WatchStarter Watches { get; set; } = null!;

    public Invitations Invitations { get; set; } = null!;

    public AdmissionWait Waiting { get; set; } = null!;

    public DirectMessages Direct { get; set; } = null!;
}
