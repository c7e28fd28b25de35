using System.Threading.Channels;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Coordinator.Registry;
using Mesh.Monitoring;
using Mesh.Peer.Configuration;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Home;
using Mesh.Peer.Identity;
using Mesh.Peer.Node;
using Mesh.Peer.Protocol;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary>What a user of one peer sees and does: its groups, their members and messages.</summary>
/// <remarks>
/// A facade: it composes the session's parts (one per concern, see <see cref="SessionParts"/>) from their ports in one
/// place, starts them, and ends them in order. All session state is owned by one loop (<see cref="SessionLoop"/>) that
/// runs on the node's loop thread; what the user should see leaves through <see cref="Events"/>.
/// </remarks>
public sealed partial class ChatSession : IAsyncDisposable
{
    /// <summary>How long ready waits for hellos from the members known at join before it goes ahead without them.</summary>
    public static TimeSpan ReadyTimeout => GroupLifecycle.ReadyTimeout;

    /// <summary>How long a message waits for an earlier one of the same sender before it is shown anyway.</summary>
    public static TimeSpan GapTimeout => SessionDispatch.GapTimeout;

    /// <summary>The most lines queued before <see cref="PostLine"/> waits.</summary>
    public const int MaxQueuedLines = 10_000;

    private readonly MeshOptions _options;
    private readonly PeerIdentity _identity;
    private readonly IEtcdInfo _etcd;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _lineRoom = new(MaxQueuedLines);
    private readonly SessionLoop _loop;
    private readonly SessionCore _core;
    private readonly SessionParts _parts = new();
    private readonly SessionDispatch _dispatch;
    private readonly IHistoryStore _history;
    private readonly IMeshNode _node;
    private readonly IPresence _registration;
    private readonly HistoryWriter _writer;
    private readonly Outbox _outbox;
    private readonly LocalHistory _local;
    private readonly HomeWriter _home;
    private readonly RejectionTally _rejections;
    private readonly MeshInstruments _instruments;
    private readonly bool _ownsInstruments;
    private IAsyncDisposable? _exitWatch;
    private int _closing;

    public ChatSession(MeshOptions options, PeerIdentity identity, string name, EtcdConnection etcd, ILoggerFactory logs, MeshInstruments? instruments = null)
        : this(options, identity, name, SessionPorts.Of(etcd, options, identity, logs), logs, instruments)
    {
    }

    /// <summary>The one place a session is composed: its parts, each with the ports it uses (etcd's, the node, the
    /// clock: real, or twins in tests), and the home's writer.</summary>
    internal ChatSession(MeshOptions options, PeerIdentity identity, string name, SessionPorts ports, ILoggerFactory logs, MeshInstruments? instruments = null)
    {
        _instruments = instruments ?? new MeshInstruments();
        _ownsInstruments = instruments is null;
        _options = options;
        _identity = identity;
        _etcd = ports.Etcd;
        _log = logs.CreateLogger("session");
        _loop = new SessionLoop(_log);
        var keyring = new EpochKeyring(options.Home);
        _core = new SessionCore(identity, name, _loop, keyring, _instruments, _log, ports.Time, _stop.Token);
        var logStore = ports.LogStore;
        // The home's files (outbox, local copy, keys, log copy) are written by one thread of their own, never the loop.
        var logCopy = new GroupLogCopy(options.Home);
        _outbox = new Outbox(Path.Combine(options.Home, "outbox"));
        _local = new LocalHistory(Path.Combine(options.Home, "history"));
        _home = new HomeWriter(_outbox, _local, keyring.Files, logCopy, _core.FromHome);
        keyring.WriteThrough(_home);
        logCopy.WriteThrough(_home);
        _history = ports.History;
        // The node calls these on its loop, which owns the session's state too: a frame goes from its socket straight
        // into the receiver, with no queue between.
        _node = ports.Node(new NodeCallbacks(
            (peer, group, payload) => _loop.TakeNow(new SessionInput.Frame(peer, group, payload)),
            peer => _loop.TakeNow(new SessionInput.LinkUp(peer)),
            (peer, retrying) => _loop.TakeNow(new SessionInput.LinkTrouble(peer, retrying))));
        _core.LoopScheduler = _node.Loop;
        _rejections = new RejectionTally(_log, options.RejectionInterval);
        var resolver = new EndpointResolver(() => _loop.Post(new SessionInput.EndpointsResolved()));
        _registration = ports.Presence;
        _writer = new HistoryWriter(_history, logs.CreateLogger("history"));
        var retention = new RetentionKeeper(_history, ports.TrimClaims, _home, identity.PeerId, options.RetentionInterval,
            logs.CreateLogger("retention"), _stop.Token);

        // The parts, each with the ports it uses; they call each other through _parts.
        var (core, parts) = (_core, _parts);
        parts.Links = new LinkSupervisor(core, parts, _node, resolver, _registration);
        parts.Presence = new Presence(core, parts, _registration);
        parts.Lifecycle = new GroupLifecycle(core, parts, _registration, retention);
        parts.Joiner = new GroupJoiner(core, parts, _etcd, logStore, logCopy, ports.Directory, _registration, _home, options);
        parts.Loader = new HistoryLoader(core, parts, _etcd, _history, logStore, _home, retention, options);
        parts.Follow = new LogKeeper(core, parts, logStore, logCopy);
        parts.Commits = new CommitRunner(core, parts, logStore);
        parts.Admissions = new Admissions(core, parts);
        parts.Keys = new KeyKeeper(core, parts, logStore, _registration);
        parts.Commands = new MemberCommands(core, parts);
        parts.Kinds = new KindCommands(core, (state, text) => (core.Sender ?? throw new InvalidOperationException("a line was taken before the session started")).Type(state, text, core.NowMs));
        parts.Receiver = new Receiver(core, parts, new EnvelopeGate(identity.PeerId, keyring, new VerifiedBursts()), _rejections, _writer);
        parts.Beats = new Beats(core, parts, _node, logStore);
        parts.Sweeps = new HistorySweeps(core, parts, _history, _home, _node);
        parts.Erasures = new Erasures(parts, _home, new TombstoneWriter(_history, text => _loop.Post(new SessionInput.Notice(text)), _stop.Token));
        parts.Lines = new LineHandler(core, parts, () => _lineRoom.Release());
        parts.Watches = new WatchStarter(core, ports.Watches);
        parts.Invitations = new Invitations(core, new InviteIssuer(logStore, identity, ports.Time));
        parts.Waiting = new AdmissionWait(core, parts, ports.Directory);
        parts.Direct = new DirectMessages(core, parts, logStore);
        _dispatch = new SessionDispatch(core, parts, _rejections, retention, () => _etcd.Describe);
        _loop.Attach(_dispatch, _stop.Token);

        _registration.StateChanged += state => _loop.Post(new SessionInput.Registration(state));
        _registration.Retrying += delay => _loop.Post(new SessionInput.EtcdRetrying(delay));
        _writer.BatchWritten += count => _outbox.Acknowledge(count);
        _writer.HealthChanged += (ok, message) => _loop.Post(new SessionInput.Notice(message) { HistoryPaused = !ok });
        _outbox.SyncFailed += reason => _loop.Post(new SessionInput.Notice($"the outbox ({Path.Combine(options.Home, "outbox")}) cannot be synced to disk: {reason}"));
        _local.WriteFailed += (group, reason) => _loop.Post(new SessionInput.Notice(
            $"the local history copy of '{group}' cannot be written ({reason}): chat goes on; the next start reads what it missed from etcd"));
        _home.WriteFailed += message => _core.Emit(new ErrorEvent(message));
        // Counted in messages: a key of a sender's burst holds several.
        _writer.EntriesWritten += batch => _instruments.HistoryBatchWritten(batch.Sum(e => HistoryKey.MessageCount(e.Name)));
        _registration.Renewed += _instruments.LeaseRenewed;
        _etcd.RequestCompleted += _instruments.EtcdRequest;
        _instruments.ObserveOutbox(() => _outbox.Pending);
    }

    /// <summary>Everything the user should see, in order. Completes when the session has ended.</summary>
    public ChannelReader<MeshEvent> Events => _core.Events;

    public string PeerId => _identity.PeerId;

    /// <summary>Events go to <paramref name="sink"/>, taken on the session's loop once per batch of work, instead of
    /// through <see cref="Events"/>: no thread wakes for them but the sink's own. Before <see cref="RunAsync"/>.</summary>
    public void SendEventsTo(IEventSink sink) => _core.SendEventsTo(sink);

    /// <summary>Hands a line the user typed to the session (a message, or a /command). Waits while
    /// <see cref="MaxQueuedLines"/> lines are queued already: a script piping a huge file is slowed to the pace the
    /// session sends at, rather than queueing it all in memory.</summary>
    /// <param name="line">What was typed.</param>
    /// <param name="group">The group it is for (the one the chat screen shows); the session's current group when null.</param>
    public void PostLine(string line, string? group = null)
    {
        _lineRoom.Wait();
        _loop.Post(new SessionInput.UserLine(line, group));
    }

    /// <summary>Direct conversations to open once the groups named at start are ready (<c>mesh join G --dm NAME</c>): each
    /// as <c>/msg NAME</c> opens it. Before <see cref="RunAsync"/>.</summary>
    public void OpenDirectAtStart(IReadOnlyList<string> names) => _directAtStart = names;

    private IReadOnlyList<string> _directAtStart = [];

    /// <summary>Asks the session to leave every group cleanly and end.</summary>
    public void PostEndOfInput() => _loop.Post(new SessionInput.EndOfInput());

    /// <summary>Says <paramref name="message"/> to the user as an error event, in order with everything else.</summary>
    public void PostError(string message) => _loop.Post(new SessionInput.Notice(message));

    /// <summary>Registers, joins <paramref name="groups"/>, and runs until end of input; returns the exit code.</summary>
    public async Task<int> RunAsync(IReadOnlyList<string> groups, JoinRequest request, CancellationToken ct)
    {
        try
        {
            _instruments.RecordBaseline();
            _ = Task.Run(WarmUpAsync);
            var startRevision = await _etcd.CheckReachableAsync(EtcdConnection.CallTimeout, ct);
            _core.RunEpoch = EpochClock.Next(_options.Home);
            _core.Sender = new MessageSender(PeerId, _core.Name, _core.RunEpoch, _identity, _core.Keyring, _home, _node, _core.Clock,
                _parts.Receiver.OnSent, error => _core.Emit(new ErrorEvent(error)))
            {
                OutboxPath = Path.Combine(_options.Home, "outbox"),
            };
            _local.Cluster = _etcd.ClusterId;
            RecoverOutbox();
            try
            {
                _core.Endpoint = _node.Start(_options.Bind, _options.Advertise);
            }
            catch (NodeBindException e)
            {
                throw new MeshException($"--bind: {e.Message}", 2);
            }

            // From here on everything runs on the node's loop; only the node's disposal, at the end, runs off it.
            var code = await OnLoopAsync(() => RunOnLoopAsync(groups, request, startRevision, ct));
            Finish();
            return code;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return await ShutdownAsync();
        }
        catch (EtcdUnavailableException e)
        {
            await ShutdownAsync();
            throw new MeshException(e.Message);
        }
        catch
        {
            await ShutdownAsync();
            throw;
        }
    }

    /// <summary>Sent messages a previous run left in the outbox go to history first (create-only, so never twice).</summary>
    private void RecoverOutbox()
    {
        var recovered = _outbox.Recover();
        if (recovered.Damaged > 0)
        {
            _core.Emit(new ErrorEvent($"the outbox had {recovered.Damaged} damaged record(s): those sent messages are lost (a copy of the damaged segments is in {recovered.DamagedDirectory}); the {recovered.Entries.Count} others are written to history"));
        }

        if (recovered.Entries.Count > 0)
        {
            _core.Emit(new ErrorEvent($"writing {recovered.Entries.Sum(e => HistoryKey.MessageCount(e.Name))} sent messages left in the outbox by the last run to history"));
            foreach (var entry in recovered.Entries)
            {
                _writer.Enqueue(entry);
                _parts.Beats.NoteRecovered(entry);
            }

            _core.RecoveredWritten = _writer.WhenWrittenAsync();
        }
    }

    /// <summary>In the background at start: the message paths, then the first history write's gRPC call (one
    /// read-only transaction), compiled before the first message waits on them.</summary>
    private async Task WarmUpAsync()
    {
        try
        {
            HotPathWarmup.Run();
            await _history.GetAsync(HotPathWarmup.Group, [HotPathWarmup.Group], _stop.Token);
        }
        catch (Exception e)
        {
            // Only a head start: the paths are compiled on first use anyway.
            LogWarmUpFailed(e);
        }
    }

    [LoggerMessage(EventId = 518, Level = LogLevel.Debug, Message = "warming up the message paths failed")]
    private partial void LogWarmUpFailed(Exception e);

    private Task<T> OnLoopAsync<T>(Func<Task<T>> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, _node.Loop).Unwrap();

    private async Task<int> RunOnLoopAsync(IReadOnlyList<string> groups, JoinRequest request, long startRevision, CancellationToken ct)
    {
        await _registration.StartAsync(MeshKeys.Peer(PeerId), _parts.Presence.OwnRecord("").ToBytes(), ct);
        _exitWatch = _parts.Watches.Watch(MeshKeys.LeavingPrefix, startRevision + 1, changes => new SessionInput.Exiting(changes));
        foreach (var group in groups)
        {
            await _parts.Joiner.JoinWithRetriesAsync(group, request, ct);
        }

        _core.Current = groups.Count > 0 ? groups[0] : null;
        // After the joins: the logs of the groups joined vouch for the other members of direct conversations.
        _parts.Direct.Start();
        _parts.Direct.OpenWhenReady(_directAtStart);

        _ = _loop.TickAsync(() => _dispatch.TickEvery, _core.Time, _stop.Token);
        await _loop.RunAsync(_dispatch, ct);
        return await CloseOnLoopAsync();
    }

    /// <summary>Leaves, from off the loop (an error on the way in, disposal): the leaving runs on the loop while it
    /// runs, then the node stops.</summary>
    private async Task<int> ShutdownAsync()
    {
        var code = 0;
        if (Volatile.Read(ref _closing) == 0)
        {
            code = _node.Running ? await OnLoopAsync(CloseOnLoopAsync) : await CloseOnLoopAsync();
        }

        Finish();
        return code;
    }

    /// <summary>Leaves every group and flushes what was sent; once.</summary>
    private async Task<int> CloseOnLoopAsync()
    {
        if (Interlocked.Exchange(ref _closing, 1) == 1)
        {
            return 0;
        }

        try
        {
            return await CloseAsync();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or EtcdUnavailableException)
        {
            // Whatever failed on the way out (a full disk, etcd gone), the session ends, and says so.
            _core.Emit(new ErrorEvent($"leaving: {e.Message}"));
            return 1;
        }
        finally
        {
            _rejections.Flush(long.MaxValue);
        }
    }

    /// <summary>Stops the node (off its loop: it waits for the loop to drain) and ends the events.</summary>
    private void Finish()
    {
        _node.Dispose();
        _core.EndEvents();
    }

    /// <summary>The order of the way out: what was typed is sent, watches stop, history is written (or kept in the
    /// outbox), the exit is marked clean, then the lease is revoked so that the others see this peer go at once.</summary>
    private async Task<int> CloseAsync()
    {
        var code = 0;
        // Lanes stop taking work once the session stops; what one has in flight ends first.
        await _loop.DrainLanesAsync();
        _core.Sender?.Flush();
        try
        {
            // What the home's writer took last comes back (a burst in the outbox is published and shown as sent)
            // before history is flushed.
            await _home.FlushAsync();
        }
        catch (IOException e)
        {
            // The bursts are written; only the sync failed (said, and the way out goes on).
            _core.Emit(new ErrorEvent($"the outbox ({Path.Combine(_options.Home, "outbox")}) cannot be synced to disk: {e.Message}"));
            code = 1;
        }

        _core.RunFromHome();
        _parts.Sweeps.FlushCopy();
        foreach (var state in _core.Groups.Values.Where(s => s.Held.Count > 0))
        {
            _core.Emit(new ErrorEvent($"{state.Held.Count} messages to '{state.Name}' not sent: the key of its new epoch had not arrived"));
        }

        await _stop.CancelAsync();
        try
        {
            foreach (var state in _core.Groups.Values.ToList())
            {
                await GroupLifecycle.StopWatchesAsync(state);
            }

            await _parts.Direct.StopAsync();
            if (_exitWatch is not null)
            {
                await _exitWatch.DisposeAsync();
            }

            var unwritten = await _writer.FlushAndCloseAsync(_options.ExitWriteWait);
            if (unwritten > 0)
            {
                _core.Emit(new ErrorEvent($"{unwritten} history entries of sent messages are kept in the outbox ({Path.Combine(_options.Home, "outbox")}): etcd unreachable at {_etcd.Describe}; they are written to history when this home next joins"));
            }
        }
        finally
        {
            // Whatever failed above, the home's files are written and closed.
            await _home.DisposeAsync();
        }

        await _parts.Presence.MarkLeavingAsync();
        await _registration.RevokeAsync(TimeSpan.FromSeconds(2));
        return code;
    }

    public async ValueTask DisposeAsync()
    {
        await ShutdownAsync();
        await _registration.DisposeAsync();
        await _writer.DisposeAsync();
        _etcd.RequestCompleted -= _instruments.EtcdRequest;
        if (_ownsInstruments)
        {
            _instruments.Dispose();
        }

        // Closes the outbox and the copies once everything handed over is written (at once when the way out did).
        await _home.DisposeAsync();
        _stop.Dispose();
    }
}
