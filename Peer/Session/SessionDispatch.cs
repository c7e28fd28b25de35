using Mesh.Coordinator.Registry;

namespace Mesh.Peer.Session;

/// <summary>Which part of the session takes each input, and what every tick does. Session loop only.</summary>
internal sealed class SessionDispatch(SessionCore core, SessionParts parts, RejectionTally rejections, RetentionKeeper retention,
    Func<string> describeEtcd) : ISessionHandler
{
    /// <summary>A tick comes every this long while the session has something to do.</summary>
    public static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>A tick comes every this long once the session is quiet (<see cref="NextTick"/>).</summary>
    public static readonly TimeSpan QuietTickInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long after its last activity the session counts as quiet.</summary>
    public static readonly TimeSpan QuietAfter = TimeSpan.FromSeconds(3);

    /// <summary>How long until the next tick: <see cref="TickInterval"/> while anything is under way (input lately, a
    /// group not ready, messages held for an earlier one, a gap to sweep), <see cref="QuietTickInterval"/> otherwise. What
    /// a tick does when quiet is on a scale of seconds (beats, periodic sweeps, retention, key asks), so a quiet peer
    /// wakes four times less often and loses nothing.</summary>
    private TimeSpan NextTick()
    {
        if (core.MonoMs - core.ActiveAtMs < QuietAfter.TotalMilliseconds)
        {
            return TickInterval;
        }

        foreach (var state in core.Groups.Values)
        {
            if (!state.Ready || !state.HistoryLoaded || state.Orderer.Waiting > 0 || state.Sweep is { } sweep && (sweep.GapKnown || sweep.InFlight))
            {
                return TickInterval;
            }
        }

        return QuietTickInterval;
    }

    /// <summary>Links' health is reported (to the metrics) every this long.</summary>
    private static readonly TimeSpan HealthEvery = TimeSpan.FromSeconds(1);

    private long _healthReportedMs = long.MinValue / 2;

    /// <summary>How long after this tick the next comes (set by each tick, read by the ticker).</summary>
    public TimeSpan TickEvery { get; private set; } = TickInterval;

    /// <summary>How long a message waits for an earlier one of the same sender before it is shown anyway.</summary>
    public static readonly TimeSpan GapTimeout = TimeSpan.FromSeconds(10);

    public (string? Lane, SessionInput? Work) Route(SessionInput input) => input switch
    {
        SessionInput.UserLine line => parts.Lines.Route(line.Text, line.Group),
        SessionInput.MembersChanged c => (c.Group, c),
        SessionInput.MembersListed c => (c.Group, c),
        SessionInput.KeyGranted c => (c.Group, c),
        SessionInput.LogChanged c => (c.Group, c),
        SessionInput.Appended c => (c.Group, c),
        SessionInput.AdmissionRequests c => (c.Group, c),
        SessionInput.KeyAsks c => (c.Group, c),
        SessionInput.Continue c => (c.Group, c),
        SessionInput.DirectFound c => (c.Group, c),
        SessionInput.DirectLine c => (c.Group, c),
        _ => (null, input),
    };

    public void Before(SessionInput input)
    {
        if (input is not (SessionInput.Tick or SessionInput.Frame))
        {
            core.ActiveAtMs = core.MonoMs;
        }

        if (!KeepsBurstOpen(input))
        {
            core.Sender?.Flush();
        }
    }

    /// <summary>Inputs that cannot change how typed messages are sealed or where they go: frames from others, history
    /// changes, timer ticks, and messages (a line that is a command flushes itself, see <see cref="LineHandler"/>).</summary>
    private static bool KeepsBurstOpen(SessionInput input) =>
        input is SessionInput.GroupLine { Command.Kind: LineCommand.Kinds.Message } or SessionInput.Frame or SessionInput.HistoryNames
            or SessionInput.HistoryFetched or SessionInput.Tick or SessionInput.HomeDone;

    public void Idle()
    {
        core.Sender?.Flush();
        parts.Sweeps.FlushCopy();
    }

    public void Failed(string message) => core.Emit(new ErrorEvent(message));

    public async Task HandleAsync(SessionInput input, CancellationToken ct)
    {
        switch (input)
        {
            case SessionInput.GroupLine line:
                await parts.Lines.HandleAsync(line, ct);
                break;
            case SessionInput.JoinLine join:
                await parts.Lines.JoinAsync(join, ct);
                break;
            case SessionInput.DirectLine direct:
                await parts.Lines.DirectAsync(direct, ct);
                break;
            case SessionInput.DirectNotices notices:
                parts.Direct.OnNotices(notices.Changes);
                break;
            case SessionInput.DirectFound found:
                await parts.Direct.JoinFoundAsync(found, ct);
                break;
            case SessionInput.InviteLine invite:
                parts.Lines.Invite(invite);
                break;
            case SessionInput.Frame frame:
                parts.Receiver.OnFrame(frame);
                break;
            case SessionInput.LinkUp up:
                parts.Links.OnLinkUp(up.PeerId);
                break;
            case SessionInput.LinkTrouble trouble:
                parts.Links.OnLinkTrouble(trouble.PeerId, trouble.Retrying);
                break;
            case SessionInput.MembersChanged changed:
                parts.Presence.OnMembersChanged(changed);
                break;
            case SessionInput.HistoryNames names:
                parts.Sweeps.OnHistoryNames(names);
                break;
            case SessionInput.HistoryFetched fetched:
                parts.Sweeps.OnHistoryFetched(fetched);
                break;
            case SessionInput.MembersListed listed:
                parts.Presence.OnMembersListed(listed);
                break;
            case SessionInput.KeyGranted granted:
                await parts.Keys.OnKeyGrantedAsync(granted, ct);
                break;
            case SessionInput.LogChanged changed:
                await parts.Follow.OnLogChangedAsync(changed, ct);
                break;
            case SessionInput.KeyAsks asks when core.Groups.TryGetValue(asks.Group, out var asked) && asked.Connected:
                parts.Keys.OnKeyAsks(asked, asks.Changes);
                break;
            case SessionInput.Continue next:
                await next.Action();
                break;
            case SessionInput.Appended appended:
                await parts.Commits.OnAppendedAsync(appended, ct);
                break;
            case SessionInput.AdmissionRequests requests when core.Groups.TryGetValue(requests.Group, out var requested) && requested.Connected:
                parts.Admissions.OnAdmissionRequests(requested, requests.Changes);
                break;
            case SessionInput.Exiting exiting:
                parts.Presence.OnExiting(exiting.Changes);
                break;
            case SessionInput.Registration registration:
                OnRegistration(registration.State);
                break;
            case SessionInput.EtcdRetrying retrying:
                core.Emit(new ConnectionEvent("etcd", ConnectionState.Reconnecting, retrying.Delay));
                break;
            case SessionInput.Warning warning:
                core.Warnings.Warn(warning.Kind, warning.Message);
                break;
            case SessionInput.Notice notice:
                // Good news is not an error: history writes that work again are said as information.
                core.Emit(notice.HistoryPaused == false
                    ? new InfoEvent(notice.Message) { HistoryResumed = true }
                    : new ErrorEvent(notice.Message) { HistoryPaused = notice.HistoryPaused });
                break;
            case SessionInput.EndpointsResolved:
                parts.Links.ApplyLinks();
                break;
            case SessionInput.HomeDone:
                core.RunFromHome();
                break;
            case SessionInput.Tick:
                OnTick();
                parts.Admissions.ActOnSchedule();
                break;
        }
    }

    private void OnRegistration(RegistrationState state)
    {
        switch (state)
        {
            case RegistrationState.Unreachable:
                core.EtcdDown = true;
                core.Emit(new ConnectionEvent("etcd", ConnectionState.Disconnected));
                core.Emit(new ErrorEvent($"etcd unreachable at {describeEtcd()}; chat goes on with connected members, retrying"));
                break;
            case RegistrationState.Lost:
                core.Instruments.LeaseLost();
                core.Emit(new ErrorEvent("registration lost (lease expired); registering again"));
                break;
            case RegistrationState.Registered or RegistrationState.Restored when core.EtcdDown:
                core.EtcdDown = false;
                core.Instruments.Reconnected("etcd");
                core.Emit(new ConnectionEvent("etcd", ConnectionState.Reconnected));
                break;
        }
    }

    private void OnTick()
    {
        parts.Links.WriteLinksIfChanged();
        parts.Sweeps.FlushCopy();
        parts.Erasures.OnTick(core.Groups.Values, core.MonoMs);
        parts.Sweeps.SweepWhereDue();
        if (parts.Beats.Due(core.MonoMs))
        {
            parts.Beats.PublishBeats();
        }

        if (core.MonoMs - _healthReportedMs >= HealthEvery.TotalMilliseconds)
        {
            _healthReportedMs = core.MonoMs;
            parts.Links.ReportHealth();
        }

        parts.Sweeps.Checkpoint();
        // Scheduling reads the monotonic clock; retention compares the wall clock with messages' stamps.
        var now = core.MonoMs;
        var wall = core.NowMs;
        parts.Presence.Tick(now);
        parts.Direct.RecheckWaiting();
        rejections.Flush(now);
        if (parts.Links.Table.ReleaseDue(now))
        {
            parts.Links.ApplyLinks();
        }

        foreach (var state in core.Groups.Values)
        {
            // Live messages that arrive while a group's history loads wait for it (within the orderer's bound): the
            // history before them is shown first.
            foreach (var e in state.HistoryLoaded ? state.Orderer.Expire(now, (long)GapTimeout.TotalMilliseconds) : [])
            {
                parts.Receiver.Deliver(e, own: false);
            }

            parts.Lifecycle.TryReady(state, now);
            retention.Tick(state, wall, now);
            parts.Keys.AskForMissingKeys(state, now, wall);
        }

        TickEvery = NextTick();
    }
}
