using Mesh.Peer.Configuration;
using Mesh.Peer.Identity;
using Mesh.Peer.Session;
using Mesh.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.UnitTests.Session.Harness;

/// <summary>Whole sessions on in-memory twins: one shared etcd twin, a fake clock that moves only when the harness
/// moves it, a twin of the links, and each peer's loop on a thread of its own. Join, admission, commits, rotation,
/// history and departures run as they do between processes, in milliseconds.</summary>
internal sealed class SessionHarness : IAsyncDisposable
{
    /// <summary>How far the clock moves at each step: one tick of the sessions.</summary>
    public static readonly TimeSpan Step = SessionDispatch.TickInterval;

    private readonly string _root = Path.Combine(Path.GetTempPath(), $"mesh-harness-{Guid.NewGuid():N}");
    private readonly List<HarnessPeer> _peers = [];

    public SessionHarness()
    {
        Directory.CreateDirectory(_root);
        Etcd = new InMemoryEtcd(Time);
    }

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    public InMemoryEtcd Etcd { get; }

    public InMemoryMesh Mesh { get; } = new();

    /// <summary>Starts a peer named <paramref name="name"/> (its home kept across restarts) joining <paramref name="groups"/>.</summary>
    public HarnessPeer Start(string name, params string[] groups) => Start(name, JoinRequest.Default, groups);

    public HarnessPeer Start(string name, JoinRequest request, params string[] groups) => Start(name, request, holdHistory: false, groups);

    /// <summary>Starts a peer whose reads of a whole history wait until <c>History.Open()</c>.</summary>
    public HarnessPeer StartHoldingHistory(string name, params string[] groups) => Start(name, JoinRequest.Default, holdHistory: true, groups);

    /// <summary>Starts a peer that opens direct conversations with <paramref name="direct"/> once its groups are ready
    /// (<c>mesh join G --dm NAME</c>).</summary>
    public HarnessPeer StartWithDirect(string name, string[] direct, params string[] groups) =>
        Start(name, JoinRequest.Default, holdHistory: false, groups, peer => peer.Session.OpenDirectAtStart(direct));

    private HarnessPeer Start(string name, JoinRequest request, bool holdHistory, string[] groups, Action<HarnessPeer>? before = null)
    {
        var peer = new HarnessPeer(this, name, Path.Combine(_root, name), holdHistory);
        _peers.Add(peer);
        before?.Invoke(peer);
        peer.Run(groups, request);
        return peer;
    }

    /// <summary>Moves the clock a step at a time until <paramref name="condition"/> holds (a few hundred steps at most).</summary>
    public async Task UntilAsync(Func<bool> condition, string what, int maxSteps = 600)
    {
        var steps = 0;
        await Waiting.UntilAsync(() =>
        {
            if (condition())
            {
                return true;
            }

            if (steps++ >= maxSteps)
            {
                throw new TimeoutException($"not within {maxSteps} steps of {Step.TotalMilliseconds} ms: {what}\n"
                    + string.Join("\n", _peers.Select(p => p.Describe())));
            }

            Time.Advance(Step);
            return false;
        }, TimeSpan.FromSeconds(60), what, () => string.Join("\n", _peers.Select(p => p.Describe())));
    }

    internal SessionPorts PortsFor(HarnessPeer peer, MeshOptions options) => new(
        Etcd,
        new InMemoryGroupLogStore(Etcd),
        new InMemoryMemberDirectory(Etcd),
        peer.Presence = new InMemoryPresence(Etcd, options.LeaseTtl),
        peer.Watches = new HeldWatches(new InMemoryWatches(Etcd), prefix => prefix.StartsWith("/mesh/keys/", StringComparison.Ordinal)),
        peer.History = new GatedHistory(new InMemoryHistoryStore(Etcd), closed: peer.HoldsHistory),
        new InMemoryTrimClaims(Etcd),
        callbacks => peer.Node = Mesh.Node(peer.PeerId, peer.Loop, callbacks),
        peer.Clock);

    public async ValueTask DisposeAsync()
    {
        foreach (var peer in _peers)
        {
            await peer.DisposeAsync();
        }

        Etcd.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A writer thread of a crashed peer may still hold a file: the temporary directory is left.
        }
    }
}

/// <summary>One peer of a <see cref="SessionHarness"/>: its session, what it showed, and how it ends.</summary>
internal sealed class HarnessPeer : IAsyncDisposable
{
    private readonly SessionHarness _harness;
    private readonly List<MeshEvent> _events = [];
    private readonly ManualResetEventSlim _frozen = new();
    private readonly CancellationTokenSource _stop = new();
    private Task<int>? _run;
    private Task? _reading;

    public HarnessPeer(SessionHarness harness, string name, string home, bool holdHistory)
    {
        _harness = harness;
        HoldsHistory = holdHistory;
        Name = name;
        Home = home;
        Identity = IdentityStore.LoadOrCreate(home);
        Clock = new SteppedClock(harness.Time);
        Options = new MeshOptions { EtcdEndpoints = ["in-memory"], Home = home, Name = name, LeaseTtl = TimeSpan.FromSeconds(3) };
        Loop = new LoopThread($"loop-{name}");
        Session = new ChatSession(Options, Identity, name, harness.PortsFor(this, Options), NullLoggerFactory.Instance);
    }

    public string Name { get; }

    /// <summary>Whether this peer's reads of a whole history start held (until <c>History.Open()</c>).</summary>
    public bool HoldsHistory { get; }

    public string Home { get; }

    public PeerIdentity Identity { get; }

    /// <summary>This peer's clock: the harness's, with a wall clock of its own that a test may step.</summary>
    public SteppedClock Clock { get; }

    public string PeerId => Identity.PeerId;

    public MeshOptions Options { get; }

    public LoopThread Loop { get; }

    public ChatSession Session { get; }

    public InMemoryPresence Presence { get; set; } = null!;

    public InMemoryNode? Node { get; set; }

    /// <summary>This peer's history store: its reads of a whole history can be held back (<see cref="GatedHistory"/>).</summary>
    public GatedHistory History { get; set; } = null!;

    /// <summary>This peer's watches: its key grants can be held back (<see cref="HeldWatches"/>).</summary>
    public HeldWatches Watches { get; set; } = null!;

    /// <summary>The session's exit code once it ended.</summary>
    public int? ExitCode => _run is { IsCompletedSuccessfully: true } run ? run.Result : null;

    /// <summary>Why the session failed (what the command line would print), once it did.</summary>
    public string? Failure => _run is { IsFaulted: true } run ? run.Exception!.InnerException!.Message : null;

    public void Run(string[] groups, JoinRequest request)
    {
        _reading = Task.Run(async () =>
        {
            await foreach (var e in Session.Events.ReadAllAsync())
            {
                lock (_events)
                {
                    _events.Add(e);
                }
            }
        });
        _run = Task.Run(() => Session.RunAsync(groups, request, _stop.Token));
    }

    /// <summary>What the session showed so far, in order.</summary>
    public List<MeshEvent> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public IEnumerable<T> Of<T>() where T : MeshEvent => Events.OfType<T>();

    public bool Ready(string group) => Of<ReadyEvent>().Any(r => r.Group == group);

    public List<string> Texts(string group) => Of<MessageEvent>().Where(m => m.Group == group).Select(m => m.Text).ToList();

    public void Type(string line) => Session.PostLine(line);

    /// <summary>Ends the session as end of input does: leaves cleanly.</summary>
    public void Quit() => Session.PostEndOfInput();

    /// <summary>Dies where it stands (SIGKILL): its loop stops taking anything, its links go, its lease is no longer
    /// renewed and expires on the clock, and it never says goodbye.</summary>
    public async Task CrashAsync()
    {
        _ = Loop.Run(() =>
        {
            _frozen.Wait();
            return true;
        });
        Node?.Dispose();
        await Presence.DisposeAsync();
    }

    public string Describe() => $"{Name}: " + string.Join(" | ", Events.TakeLast(12).Select(e => e.ToString()));

    public async ValueTask DisposeAsync()
    {
        _frozen.Set();
        if (_run is not null && !_run.IsCompleted)
        {
            await _stop.CancelAsync();
            await Task.WhenAny(_run, Task.Delay(TimeSpan.FromSeconds(10)));
        }

        if (_run is { IsCompleted: true })
        {
            try
            {
                await Session.DisposeAsync();
            }
            catch (Exception e) when (_run.IsFaulted)
            {
                TestContext.Out.WriteLine($"{Name}: disposing a failed session: {e.Message}");
            }
        }

        Loop.Dispose();
        _stop.Dispose();
    }
}
