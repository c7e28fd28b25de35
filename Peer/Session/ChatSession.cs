using System.Threading.Channels;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Coordinator.Membership;
using Mesh.Coordinator.Registry;
using Mesh.Peer.Configuration;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Home;
using Mesh.Peer.Identity;
using Mesh.Peer.Node;
using Mesh.Peer.Protocol;
using Mesh.Monitoring;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary>What a user of one peer sees and does: its groups, their members and messages.</summary>
/// <remarks>
/// All session state is owned by one loop that takes <see cref="SessionInput"/> items in order: user lines, frames
/// from the node, watch changes from etcd, timer ticks. No locks guard the state because nothing else touches it.
/// What the user should see leaves through <see cref="Events"/>.
/// </remarks>
public sealed partial class ChatSession : IAsyncDisposable
{
    /// <summary>How long ready waits for hellos from the members known at join before it goes ahead without them.</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long a message waits for an earlier one of the same sender before it is shown anyway.</summary>
    public static readonly TimeSpan GapTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The most messages sealed under one signature; more waiting input starts another burst.</summary>

    private readonly MeshOptions _options;
    private readonly PeerIdentity _identity;
    private readonly string _name;
    private readonly EtcdConnection _etcd;
    private readonly ILoggerFactory _logs;
    private readonly ILogger _log;
    private readonly Channel<SessionInput> _inputs = Channel.CreateUnbounded<SessionInput>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Channel<MeshEvent> _events = Channel.CreateUnbounded<MeshEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Dictionary<string, GroupState> _groups = new(StringComparer.Ordinal);
    private readonly LinkTable _links = new();
    private LinkRtt? _rttTable;

    /// <summary>Round trips to members, from the beats.</summary>
    private LinkRtt Rtt => _rttTable ??= new LinkRtt(PeerId);
    private readonly GroupDirectory _directory;
    private readonly EtcdHistoryStore _history;
    private readonly MeshNode _node;
    private readonly PeerRegistration _registration;
    private readonly HistoryWriter _writer;
    private readonly CancellationTokenSource _stop = new();
    private readonly MeshInstruments _instruments;
    private readonly bool _ownsInstruments;
    private readonly EpochKeyring _keyring;
    private readonly GroupLogStore _logStore;
    private readonly GroupLogCopy _logCopy;
    private readonly RateLimitedWarnings _warnings;

    /// <summary>Peers that marked their exit as clean: when their presence goes, they exited rather than expired.</summary>
    private readonly HashSet<string> _exiting = new(StringComparer.Ordinal);
    private PrefixWatcher? _exitWatch;
    private readonly Outbox _outbox;
    private readonly LocalHistory _local;
    private readonly RetentionKeeper _retention;
    private readonly VerifiedBursts _verified = new();
    private readonly EnvelopeGate _gate;
    private readonly KeyRecovery _keyRecovery = new();

    /// <summary>Typed lines to sealed, published messages; made once this run's epoch is known.</summary>
    private MessageSender? _sender;
    private string? _current;
    private string _endpoint = "";
    private long _epoch;
    private readonly HybridClock _clock = new();
    private readonly EndpointResolver _resolver;
    private readonly RejectionTally _rejections;

    private bool _etcdDown;
    private (int Connected, int Known) _linksReported;
    private readonly LinkReport _linkReport = new();
    private Task? _linksWrite;
    private volatile bool _linksWriteFailed;

    public ChatSession(MeshOptions options, PeerIdentity identity, string name, EtcdConnection etcd, ILoggerFactory logs, MeshInstruments? instruments = null)
    {
        _instruments = instruments ?? new MeshInstruments();
        _ownsInstruments = instruments is null;
        _options = options;
        _identity = identity;
        _name = name;
        _etcd = etcd;
        _logs = logs;
        _log = logs.CreateLogger("session");
        _directory = new GroupDirectory(etcd);
        _keyring = new EpochKeyring(options.Home);
        _gate = new EnvelopeGate(identity.PeerId, _keyring, _verified);
        _logStore = new GroupLogStore(etcd);
        _logCopy = new GroupLogCopy(options.Home);
        _warnings = new RateLimitedWarnings(_log);
        _history = new EtcdHistoryStore(etcd, logs.CreateLogger("history"));
        // The node calls these on its loop, which owns the session's state too: a frame goes from its socket straight
        // into the receiver, with no queue between.
        _node = new MeshNode(identity.Certificate, identity.PeerId,
            (peer, group, payload) => TakeOnLoop(new SessionInput.Frame(peer, group, payload)),
            peer => TakeOnLoop(new SessionInput.LinkUp(peer)),
            (peer, retrying) => TakeOnLoop(new SessionInput.LinkTrouble(peer, retrying)),
            logs.CreateLogger("node"),
            EnvelopeCodec.MaxEncodedBytes + 256,
            options.HighWaterMark);
        _rejections = new RejectionTally(logs.CreateLogger("session"));
        _resolver = new EndpointResolver(() => Post(new SessionInput.EndpointsResolved()));
        _registration = new PeerRegistration(etcd, options.LeaseTtl, logs.CreateLogger("registration"));
        _registration.StateChanged += state => Post(new SessionInput.Registration(state));
        _registration.Retrying += delay => Post(new SessionInput.EtcdRetrying(delay));
        _writer = new HistoryWriter(_history, logs.CreateLogger("history"));
        _outbox = new Outbox(Path.Combine(options.Home, "outbox"));
        _local = new LocalHistory(Path.Combine(options.Home, "history"));
        _retention = new RetentionKeeper(_history, new TrimClaims(etcd), _local, identity.PeerId, options.RetentionInterval,
            logs.CreateLogger("retention"), _stop.Token);
        _writer.BatchWritten += count => _outbox.Acknowledge(count);
        _writer.HealthChanged += (ok, message) => Post(new SessionInput.Notice(message) { HistoryPaused = !ok });
        _outbox.SyncFailed += reason => Post(new SessionInput.Notice($"the outbox ({Path.Combine(options.Home, "outbox")}) cannot be synced to disk: {reason}"));
        _local.WriteFailed += (group, reason) => Post(new SessionInput.Notice(
            $"the local history copy of '{group}' cannot be written ({reason}): chat goes on; the next start reads what it missed from etcd"));
        _writer.BatchWritten += _instruments.HistoryBatchWritten;
        _registration.Renewed += _instruments.LeaseRenewed;
        _etcd.RequestCompleted += _instruments.EtcdRequest;
        _instruments.ObserveOutbox(() => _outbox.Pending);
    }

    /// <summary>Everything the user should see, in order. Completes when the session has ended.</summary>
    public ChannelReader<MeshEvent> Events => _events.Reader;

    public string PeerId => _identity.PeerId;

    /// <summary>Hands a line the user typed to the session (a message, or a /command). Waits while
    /// <see cref="MaxQueuedLines"/> lines are queued already: a script piping a huge file is slowed to the pace the
    /// session sends at, rather than queueing it all in memory.</summary>
    public void PostLine(string line)
    {
        _lineRoom.Wait();
        Post(new SessionInput.UserLine(line));
    }

    public const int MaxQueuedLines = 10_000;

    private readonly SemaphoreSlim _lineRoom = new(MaxQueuedLines);

    /// <summary>Inputs whose handling waits on etcd (what the user types, changes to members, the group log and keys):
    /// taken in order, one at a time, by a second lane of the same loop, so that the live path never waits for them.</summary>
    private readonly Channel<SessionInput> _slow = Channel.CreateUnbounded<SessionInput>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Asks the session to leave every group cleanly and end.</summary>
    public void PostEndOfInput() => Post(new SessionInput.EndOfInput());

    /// <summary>Says <paramref name="message"/> to the user as an error event, in order with everything else.</summary>
    public void PostError(string message) => Post(new SessionInput.Notice(message));

    /// <summary>Hands an input to its lane: straight to the slow lane if it waits on etcd (one hand-off for a typed
    /// line), else to the live lane. Frames never come here: the node hands them over on the loop itself.</summary>
    private void Post(SessionInput input)
    {
        if (IsSlow(input))
        {
            _slow.Writer.TryWrite(input);
        }
        else
        {
            _inputs.Writer.TryWrite(input);
        }
    }

    private void Emit(MeshEvent e) => _events.Writer.TryWrite(e);

    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>Registers, joins <paramref name="groups"/>, and runs until end of input; returns the exit code.</summary>
    public async Task<int> RunAsync(IReadOnlyList<string> groups, JoinRequest request, CancellationToken ct)
    {
        try
        {
            _instruments.RecordBaseline();
            _ = Task.Run(WarmUpAsync);
            var startRevision = await _etcd.CheckReachableAsync(EtcdConnection.CallTimeout, ct);
            _epoch = EpochClock.Next(_options.Home);
            _sender = new MessageSender(PeerId, _name, _epoch, _identity, _keyring, _outbox, _node, _clock, OnSent, error => Emit(new ErrorEvent(error)))
            {
                OutboxPath = Path.Combine(_options.Home, "outbox"),
            };
            _local.Cluster = _etcd.ClusterId;
            var recovered = _outbox.Recover();
            if (recovered.Damaged > 0)
            {
                Emit(new ErrorEvent($"the outbox had {recovered.Damaged} damaged record(s): those sent messages are lost (a copy of the damaged segments is in {recovered.DamagedDirectory}); the {recovered.Entries.Count} others are written to history"));
            }

            if (recovered.Entries.Count > 0)
            {
                // A previous run ended before etcd took these: write them first (create-only, so never twice).
                Emit(new ErrorEvent($"writing {recovered.Entries.Count} sent messages left in the outbox by the last run to history"));
                foreach (var entry in recovered.Entries)
                {
                    _writer.Enqueue(entry);
                    NoteRecovered(entry);
                }
            }

            try
            {
                _endpoint = _node.Start(_options.Bind, _options.Advertise);
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

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 518, Level = Microsoft.Extensions.Logging.LogLevel.Debug, Message = "warming up the message paths failed")]
    private partial void LogWarmUpFailed(Exception e);

    private Task<T> OnLoopAsync<T>(Func<Task<T>> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, _node.Loop).Unwrap();

    private async Task<int> RunOnLoopAsync(IReadOnlyList<string> groups, JoinRequest request, long startRevision, CancellationToken ct)
    {
        await _registration.StartAsync(MeshKeys.Peer(PeerId), OwnRecord("").ToBytes(), ct);
        _exitWatch = Watch(MeshKeys.LeavingPrefix, startRevision + 1, changes => new SessionInput.Exiting(changes));
        foreach (var group in groups)
        {
            await JoinWithRetriesAsync(group, request, ct);
        }

        _current = groups.Count > 0 ? groups[0] : null;
        _ = TickAsync(_stop.Token);
        await RunLoopAsync(ct);
        return await CloseOnLoopAsync();
    }

    /// <summary>Joins a group named at start. etcd answered a moment ago: a call that times out now (a loaded etcd, a
    /// leader election) is tried again twice, after 1 and 2 s, before the peer gives up with one line.</summary>
    private async Task JoinWithRetriesAsync(string group, JoinRequest request, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await JoinAsync(group, request, ct);
                return;
            }
            catch (EtcdUnavailableException e) when (attempt < 3)
            {
                Emit(new ErrorEvent($"joining '{group}': {e.Message}; trying again"));
                await Task.Delay(TimeSpan.FromSeconds(attempt), ct);
            }
        }
    }

    /// <summary>Takes inputs in order until end of input; what was typed leaves in bursts (see <see cref="MessageSender.Flush"/>).</summary>
    private async Task RunLoopAsync(CancellationToken ct)
    {
        var slowLane = RunSlowLaneAsync(ct);
        var inputs = _inputs.Reader;
        while (await inputs.WaitToReadAsync(ct))
        {
            while (inputs.TryRead(out var input))
            {
                if (input is SessionInput.LanesDone)
                {
                    await slowLane;
                    return;
                }

                // Live inputs are handled without waiting on anything: this completes at once.
                _ = TakeAsync(input, ct);
            }

            _sender?.Flush();
            FlushCopy();
        }
    }

    /// <summary>Takes the inputs that wait on etcd in order, each to its end, while the live lane goes on between
    /// their awaits (both run on the loop, so state is never touched by two threads). At end of input it tells the
    /// live lane to stop.</summary>
    private async Task RunSlowLaneAsync(CancellationToken ct)
    {
        var inputs = _slow.Reader;
        try
        {
            while (await inputs.WaitToReadAsync(ct))
            {
                while (inputs.TryRead(out var input))
                {
                    if (!await TakeAsync(input, ct))
                    {
                        return;
                    }
                }

                _sender?.Flush();
            }
        }
        finally
        {
            _inputs.Writer.TryWrite(SessionInput.LanesDone.Instance);
        }
    }

    private static bool IsSlow(SessionInput input) => input is SessionInput.UserLine or SessionInput.EndOfInput
        or SessionInput.MembersChanged or SessionInput.MembersListed or SessionInput.KeyGranted or SessionInput.LogChanged
        or SessionInput.Appended or SessionInput.AdmissionRequests or SessionInput.Continue or SessionInput.KeyAsks;

    /// <summary>An input from the node, already on the loop: handled now. Before the loop runs (or after it), the
    /// node has no links, so nothing arrives here.</summary>
    private void TakeOnLoop(SessionInput input) => _ = TakeAsync(input, _stop.Token);

    /// <summary>Handles one input; false at end of input.</summary>
    private async Task<bool> TakeAsync(SessionInput input, CancellationToken ct)
    {
        if (input is SessionInput.EndOfInput)
        {
            _sender?.Flush();
            return false;
        }

        if (!KeepsBurstOpen(input))
        {
            _sender?.Flush();
        }

        try
        {
            await HandleAsync(input, ct);
        }
        catch (EtcdUnavailableException e)
        {
            Emit(new ErrorEvent(e.Message));
        }
        catch (MeshException e)
        {
            Emit(new ErrorEvent(e.Message));
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // One input that fails (a full disk, a bug) costs that input: the loop, and the chat, go on.
            LogInputFailed(e, input.GetType().Name);
            Emit(new ErrorEvent(e is IOException or UnauthorizedAccessException
                ? $"{Describe(input)} failed: {e.Message}"
                : $"{Describe(input)} failed ({e.GetType().Name}: {e.Message}); see the log"));
        }

        return true;
    }

    private static string Describe(SessionInput input) => input switch
    {
        SessionInput.UserLine line when line.Text.StartsWith('/') => $"'{Naming.Printable(line.Text.Split(' ')[0])}'",
        SessionInput.UserLine => "sending",
        _ => $"handling {input.GetType().Name}",
    };

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 516, Level = Microsoft.Extensions.Logging.LogLevel.Error, Message = "session input {Input} failed")]
    private partial void LogInputFailed(Exception e, string input);

    /// <summary>Inputs that cannot change how typed messages are sealed or where they go: frames from others, history
    /// changes, timer ticks, and lines (a line that is a command flushes itself, see <see cref="HandleLineAsync"/>).</summary>
    private static bool KeepsBurstOpen(SessionInput input) =>
        input is SessionInput.UserLine or SessionInput.Frame or SessionInput.HistoryNames or SessionInput.HistoryFetched or SessionInput.Tick;

    /// <summary>This peer's presence record for <paramref name="group"/> ("" for the peer record), signed.</summary>
    /// <remarks>A group's record carries this peer's consent to be added to the group whose genesis it read (what a member
    /// who admits it copies into the log).</remarks>
    private MemberRecord OwnRecord(string group) =>
        MemberSignature.Sign(new MemberRecord(PeerId, _name, _identity.PublicKeyZ85, Convert.ToBase64String(_identity.SigningPublicKey), _endpoint,
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())
        {
            Group = group,
            Consent = group.Length > 0 && _groups.TryGetValue(group, out var state)
                ? Convert.ToBase64String(JoinConsent.Sign(_identity, group, state.Log.GenesisHash, _name))
                : null,
        }, _identity);

    private async Task TickAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                Post(new SessionInput.Tick());
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task HandleAsync(SessionInput input, CancellationToken ct)
    {
        switch (input)
        {
            case SessionInput.UserLine line:
                _lineRoom.Release();
                await HandleLineAsync(line.Text, ct);
                break;
            case SessionInput.Frame frame:
                OnFrame(frame);
                break;
            case SessionInput.LinkUp up:
                OnLinkUp(up.PeerId);
                break;
            case SessionInput.LinkTrouble trouble:
                OnLinkTrouble(trouble.PeerId, trouble.Retrying);
                break;
            case SessionInput.MembersChanged changed:
                await OnMembersChangedAsync(changed, ct);
                break;
            case SessionInput.HistoryNames names:
                OnHistoryNames(names);
                break;
            case SessionInput.HistoryFetched fetched:
                OnHistoryFetched(fetched);
                break;
            case SessionInput.MembersListed listed:
                await OnMembersListedAsync(listed, ct);
                break;
            case SessionInput.KeyGranted granted:
                await OnKeyGrantedAsync(granted, ct);
                break;
            case SessionInput.LogChanged changed:
                await OnLogChangedAsync(changed, ct);
                break;
            case SessionInput.KeyAsks asks when _groups.TryGetValue(asks.Group, out var asked) && asked.Connected:
                OnKeyAsks(asked, asks.Changes);
                break;
            case SessionInput.Continue next:
                await next.Action();
                break;
            case SessionInput.Appended appended:
                await OnAppendedAsync(appended, ct);
                break;
            case SessionInput.AdmissionRequests requests when _groups.TryGetValue(requests.Group, out var requested) && requested.Connected:
                OnAdmissionRequests(requested, requests.Changes);
                break;
            case SessionInput.Exiting exiting:
                foreach (var change in exiting.Changes.Where(c => !c.IsDelete && c.Key.StartsWith(MeshKeys.LeavingPrefix, StringComparison.Ordinal)))
                {
                    if (_exiting.Count > 100_000)
                    {
                        _exiting.Clear();
                    }

                    _exiting.Add(change.Key[MeshKeys.LeavingPrefix.Length..]);
                }

                break;
            case SessionInput.Registration registration:
                OnRegistration(registration.State);
                break;
            case SessionInput.EtcdRetrying retrying:
                Emit(new ConnectionEvent("etcd", ConnectionState.Reconnecting, retrying.Delay));
                break;
            case SessionInput.Notice notice:
                // Good news is not an error: history writes that work again are said as information.
                Emit(notice.HistoryPaused == false
                    ? new InfoEvent(notice.Message) { HistoryResumed = true }
                    : new ErrorEvent(notice.Message) { HistoryPaused = notice.HistoryPaused });
                break;
            case SessionInput.EndpointsResolved:
                ApplyLinks();
                break;
            case SessionInput.Tick:
                OnTick();
                ActOnSchedule();
                break;
        }
    }

    private void OnRegistration(RegistrationState state)
    {
        switch (state)
        {
            case RegistrationState.Unreachable:
                _etcdDown = true;
                Emit(new ConnectionEvent("etcd", ConnectionState.Disconnected));
                Emit(new ErrorEvent($"etcd unreachable at {_etcd.Describe}; chat goes on with connected members, retrying"));
                break;
            case RegistrationState.Lost:
                _instruments.LeaseLost();
                Emit(new ErrorEvent("registration lost (lease expired); registering again"));
                break;
            case RegistrationState.Registered or RegistrationState.Restored when _etcdDown:
                _etcdDown = false;
                _instruments.Reconnected("etcd");
                Emit(new ConnectionEvent("etcd", ConnectionState.Reconnected));
                break;
        }
    }

    private void OnTick()
    {
        WriteLinksIfChanged();
        FlushCopy();
        SweepWhereDue();
        if (++_ticks % TicksPerBeat == 0)
        {
            PublishBeats();
            ReportHealth();
        }

        _local.Checkpoint();
        var now = NowMs;
        _rejections.Flush(now);
        if (_links.ReleaseDue(now))
        {
            ApplyLinks();
        }

        foreach (var state in _groups.Values)
        {
            foreach (var e in state.Orderer.Expire(now, (long)GapTimeout.TotalMilliseconds))
            {
                Deliver(e, own: false);
            }

            TryReady(state, now);
            _retention.Tick(state, now);
            AskForMissingKeys(state, now);
        }
    }

    private int _closing;

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
            Emit(new ErrorEvent($"leaving: {e.Message}"));
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
        _events.Writer.TryComplete();
    }

    private async Task<int> CloseAsync()
    {
        // Typed before the end: sealed, kept in the outbox and shown as sent like any other.
        _sender?.Flush();
        FlushCopy();
        foreach (var state in _groups.Values.Where(s => s.Held.Count > 0))
        {
            Emit(new ErrorEvent($"{state.Held.Count} messages to '{state.Name}' not sent: the key of its new epoch had not arrived"));
        }

        await _stop.CancelAsync();
        foreach (var state in _groups.Values)
        {
            await StopWatchesAsync(state);
        }

        if (_exitWatch is not null)
        {
            await _exitWatch.DisposeAsync();
        }

        var unwritten = await _writer.FlushAndCloseAsync(TimeSpan.FromSeconds(5));
        if (unwritten > 0)
        {
            Emit(new ErrorEvent($"{unwritten} sent messages are kept in the outbox ({Path.Combine(_options.Home, "outbox")}): etcd unreachable at {_etcd.Describe}; they are written to history when this home next joins"));
        }

        _local.Dispose();
        await MarkLeavingAsync();
        // Revoking the lease removes every presence key at once: the others see this peer leave now, not after the TTL.
        await _registration.RevokeAsync(TimeSpan.FromSeconds(2));
        // Nothing is lost: what etcd did not take waits in the outbox.
        return 0;
    }

    private static async Task StopWatchesAsync(GroupState state)
    {
        foreach (var watch in state.Watches)
        {
            await watch.DisposeAsync();
        }
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
        _outbox.Dispose();
        _stop.Dispose();
    }
}
