using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Membership;
using Mesh.Peer.Groups;

namespace Mesh.Peer.Session;

/// <summary>Where a group stands for this peer. A group is in the session's map from <see cref="AwaitingAdmission"/> on:
/// its log was read and checked.</summary>
internal enum GroupPhase
{
    /// <summary>Its log is being read (or created); not in the session's map yet.</summary>
    Joining,

    /// <summary>Not a member yet: a member admits this peer (an open group's candidate, or an invite redeemed).</summary>
    AwaitingAdmission,

    /// <summary>A member without the current epoch's key: a member wraps it to this peer.</summary>
    AwaitingKey,

    /// <summary>Links, watches and history are starting.</summary>
    Loading,

    /// <summary>History shown; chatting.</summary>
    Live,

    /// <summary>This peer's leave is being written: nothing more is sent.</summary>
    Leaving,

    /// <summary>Left, removed, or given up: nothing more happens.</summary>
    Left,
}

/// <summary>What the session knows about one joined group. Session loop only.</summary>
internal sealed class GroupState(string name)
{
    /// <summary>The most lines held while this peer waits for the key of a new epoch.</summary>
    public const int MaxHeld = 1_000;

    public string Name { get; } = name;

    /// <summary>Who is online: members followed, and peers an open group may admit.</summary>
    public MemberTable Table { get; } = new(name);

    /// <summary>Online members other than this peer, by peer id: records signed by them, of members the log holds.</summary>
    public IReadOnlyDictionary<string, MemberRecord> Members => Table.Members;

    /// <summary>Signed records of online peers that are not members (yet): who an open group may admit.</summary>
    public IReadOnlyDictionary<string, MemberRecord> Candidates => Table.Candidates;

    /// <summary>Valid admission requests (invites redeemed), by peer id.</summary>
    public Dictionary<string, AdmissionRequest> Requests { get; } = new(StringComparer.Ordinal);

    /// <summary>When this peer acts on a pending change (an admission by peer id, or "" for a rotation), by its rank.</summary>
    public Dictionary<string, long> ActAtMs { get; } = new(StringComparer.Ordinal);

    /// <summary>Members known at join whose hello has not arrived yet; ready waits for them (up to a timeout).</summary>
    public HashSet<string> AwaitingLinks { get; } = new(StringComparer.Ordinal);

    public MessageOrderer Orderer { get; } = new();

    /// <summary>How far each sender's runs have come here: where a departure this peer commits cuts a stream.</summary>
    public StreamMarks Streams { get; } = new();

    /// <summary>How a member is named in this group (see <see cref="DisplayNames"/>).</summary>
    public string Label(string peerId, string name) => DisplayNames.Label(Follower?.Log, peerId, name);

    /// <summary>Follows the group's log in etcd (set once it was read and checked).</summary>
    public LogFollower Follower { get; set; } = null!;

    /// <summary>The group's validated log: policy, members, key epochs.</summary>
    public GroupLog Log => Follower.Log;

    /// <summary>This peer's changes to the group's log, one try in flight at a time.</summary>
    public LogCommitter Committer { get; } = new();

    private RetentionWindow? _window;
    private string _windowGenesis = "";

    /// <summary>Where the history the group's retention keeps begins, counted over the messages shown (a new one when
    /// the group was created afresh).</summary>
    public RetentionWindow Window
    {
        get
        {
            if (_window is null || _windowGenesis != Log.GenesisHash)
            {
                _window = new RetentionWindow(Log.Retention);
                _windowGenesis = Log.GenesisHash;
            }

            return _window;
        }
    }

    /// <summary>Deletes delivered while the history loads (target and delete ids; sent by this run), applied once it
    /// has (see <see cref="Erasures"/>).</summary>
    public List<(string Target, string Delete, bool Mine)> HeldErasures { get; } = [];

    /// <summary>Live deletes (target and delete ids) whose text the copy still holds: rewritten on the next tick.</summary>
    public List<(string Target, string Delete)> CopyErasures { get; } = [];

    /// <summary>Log entries to put back in etcd once their once-a-second limit allows.</summary>
    public HashSet<long> PendingRepairs { get; } = [];

    /// <summary>When this peer last put back each log entry in etcd.</summary>
    public Dictionary<long, long> RepairedAtMs { get; } = [];

    /// <summary>When a member's beat last made this peer read etcd's log for a fork.</summary>
    public long ForkCheckedAtMs { get; set; }

    /// <summary>When this peer learned that an epoch had ended (by epoch number).</summary>
    public Dictionary<long, long> EpochEndSeenMs { get; } = [];

    /// <summary>Epochs for which a refused key grant was reported to the user already.</summary>
    public HashSet<long> RefusedGrantEpochs { get; } = [];

    /// <summary>Senders (and the ended epoch) whose live messages under an ended epoch the user was told of.</summary>
    public HashSet<(string PeerId, long Epoch)> StaleSendersTold { get; } = [];

    /// <summary>Epochs whose key or log entry live messages were told to wait for.</summary>
    public HashSet<long> KeysWaitedFor { get; } = [];

    /// <summary>Grants for epochs the log does not have yet.</summary>
    public List<byte[]> FutureGrants { get; } = [];

    /// <summary>Frames and history entries that name an epoch or a member the log or keyring does not have yet.</summary>
    public ParkedFrames Parked { get; } = new();

    /// <summary>Messages typed while the key of the current epoch was not here yet; sealed and sent when it comes.</summary>
    public List<Protocol.Envelope> Held { get; } = [];

    /// <summary>Whether this peer is a member per the log and holds the current epoch's key.</summary>
    public bool CanSend { get; set; }

    /// <summary>Where the group stands; changed only by <see cref="MoveTo"/>.</summary>
    public GroupPhase Phase { get; private set; } = GroupPhase.Joining;

    private bool _started;

    /// <summary>Links, history and watches are running (this peer was admitted and holds a key), until it left.</summary>
    public bool Connected => _started && Phase != GroupPhase.Left;

    /// <summary>The history at join was loaded and shown.</summary>
    public bool HistoryLoaded { get; private set; }

    /// <summary>This peer asked to leave the group: nothing more is sent to it while its leave is written.</summary>
    public bool Leaving => Phase == GroupPhase.Leaving;

    /// <summary>This peer left the group (or gave up joining it): nothing more is sent to it.</summary>
    public bool Left => Phase == GroupPhase.Left;

    /// <summary>Moves the group to <paramref name="next"/>; a group that left stays left (false). A move the lifecycle
    /// does not have is a bug, and throws.</summary>
    public bool MoveTo(GroupPhase next)
    {
        if (Phase == GroupPhase.Left || next == Phase)
        {
            return next == Phase;
        }

        var allowed = (Phase, next) switch
        {
            (_, GroupPhase.Left) => true,
            (GroupPhase.Joining, GroupPhase.AwaitingAdmission or GroupPhase.AwaitingKey or GroupPhase.Loading) => true,
            (GroupPhase.AwaitingAdmission, GroupPhase.AwaitingKey or GroupPhase.Loading or GroupPhase.Leaving) => true,
            (GroupPhase.AwaitingKey, GroupPhase.Loading or GroupPhase.Leaving) => true,
            (GroupPhase.Loading, GroupPhase.Live or GroupPhase.Leaving) => true,
            (GroupPhase.Live, GroupPhase.Leaving) => true,
            _ => false,
        };
        if (!allowed)
        {
            throw new InvalidOperationException($"group '{Name}': {Phase} cannot become {next}");
        }

        Phase = next;
        _started |= next == GroupPhase.Loading;
        HistoryLoaded |= next == GroupPhase.Live;
        return true;
    }

    public IAsyncDisposable? GrantWatch { get; set; }

    public IAsyncDisposable? LogWatch { get; set; }

    public IAsyncDisposable? GenesisWatch { get; set; }

    public IAsyncDisposable? AdmitWatch { get; set; }

    /// <summary>Follows other members' asks for keys they lack.</summary>
    public IAsyncDisposable? KeyAskWatch { get; set; }


    /// <summary>The etcd revision up to which this peer has every history entry (and its local copy says so).</summary>
    public long CopyRevision { get; set; }

    public bool Ready { get; set; }


    /// <summary>When history is read for what the live path missed (set once history is loaded).</summary>
    public HistorySweep? Sweep { get; set; }

    /// <summary>Messages the running sweep brought that this peer lacked.</summary>
    public long SweepFound { get; set; }

    /// <summary>The keys the sweep under way has fetched so far: their messages are shown once it has all of them, in
    /// name order (a burst's key sorts by its last message, after others' messages sent during the burst).</summary>
    public List<Mesh.Coordinator.History.HistoryEntry> SweepFetched { get; } = [];

    public long JoinStartedMs { get; set; }

    public IAsyncDisposable? MembersWatch { get; set; }

    public IEnumerable<IAsyncDisposable> Watches =>
        new[] { MembersWatch, GrantWatch, LogWatch, GenesisWatch, AdmitWatch, KeyAskWatch }.OfType<IAsyncDisposable>();
}
