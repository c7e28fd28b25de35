using System.Text;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.History;
using Mesh.Peer.Configuration;
using Mesh.Peer.Groups;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

public sealed partial class ChatSession
{
    private async Task HandleLineAsync(string line, CancellationToken ct)
    {
        var command = LineCommand.Parse(line);
        if (command.Kind == LineCommand.Kinds.Empty)
        {
            return;
        }

        if (command.Kind == LineCommand.Kinds.Message)
        {
            Send(command.Text);
            return;
        }

        // A command can leave or switch groups: what was typed before it leaves first, as it was typed.
        _sender?.Flush();
        var argument = command.Argument;
        switch (command.Kind)
        {
            case LineCommand.Kinds.Join:
                if (RequireGroupArgument("/join", argument) is { } joining && await ConfirmedAsync(joining, ct))
                {
                    await JoinAsync(joining, JoinRequest.Default, ct);
                    _current ??= joining;
                }

                break;
            case LineCommand.Kinds.Leave:
                if (RequireGroupArgument("/leave", argument ?? _current) is { } leaving)
                {
                    Leave(leaving);
                }

                break;
            case LineCommand.Kinds.Switch:
                if (RequireGroupArgument("/switch", argument) is { } target)
                {
                    if (_groups.ContainsKey(target))
                    {
                        _current = target;
                    }
                    else
                    {
                        Emit(new ErrorEvent($"/switch: not in group '{target}' (use /join {target})"));
                    }
                }

                break;
            case LineCommand.Kinds.Remove:
                Remove(argument);
                break;
            case LineCommand.Kinds.Admin:
                GrantAdmin(argument);
                break;
            case LineCommand.Kinds.Members:
                ListMembers();
                break;
            case LineCommand.Kinds.Quit:
                // Like end of input: whatever was typed before leaves first.
                PostEndOfInput();
                break;
            case LineCommand.Kinds.Help:
                Emit(new InfoEvent($"commands: {LineCommand.Commands}"));
                break;
            case LineCommand.Kinds.Search:
                Emit(new ErrorEvent("/search is the chat screen's: headless, read the history with 'mesh history G' and search that"));
                break;
            default:
                Emit(new ErrorEvent(command.UnknownError));
                break;
        }
    }

    private string? RequireGroupArgument(string command, string? argument)
    {
        if (argument is null)
        {
            Emit(new ErrorEvent($"{command}: name a group"));
            return null;
        }

        if (!Naming.IsValidGroup(argument))
        {
            Emit(new ErrorEvent($"{command}: invalid group name '{Naming.Printable(argument)}': {Naming.GroupRule}"));
            return null;
        }

        return argument;
    }

    private void Send(string text)
    {
        if (_current is null || !_groups.TryGetValue(_current, out var state))
        {
            Emit(new ErrorEvent("not in any group: /join a group first"));
            return;
        }

        (_sender ?? throw new InvalidOperationException("a line was taken before the session started")).Type(state, text, NowMs);
    }

    /// <summary>What the sender reports gone: into history (through the writer), the local copy and the view.</summary>
    private void OnSent(SentMessage message)
    {
        var (state, envelope, entry) = message;
        _writer.Enqueue(entry);
        CopyLive(state.Name, entry.Name, entry.Value);
        state.Orderer.MarkOwn(envelope);
        _instruments.MessageSent(state.Name, entry.Value.Length);
        Deliver(envelope, own: true);
    }

    private void OnFrame(SessionInput.Frame frame)
    {
        if (!_groups.TryGetValue(frame.Group, out var state) || !state.Connected)
        {
            return;
        }

        _instruments.BytesReceived(frame.Group, frame.Payload.Length);
        if (MemberBeat.IsBeat(frame.Payload))
        {
            OnBeat(state, frame);
            return;
        }

        if (BurstFrame.IsBurst(frame.Payload))
        {
            if (BurstFrame.TrySplit(frame.Payload) is not { } parts)
            {
                RejectFrame(frame, RejectReason.Malformed);
                return;
            }

            foreach (var part in parts)
            {
                OnEnvelopeFrame(state, frame with { Payload = part });
            }

            return;
        }

        OnEnvelopeFrame(state, frame);
    }

    private void OnEnvelopeFrame(GroupState state, SessionInput.Frame frame)
    {
        var parsed = EnvelopeCodec.TryParse(frame.Payload);
        if (parsed is not null && parsed.Group == frame.Group && parsed.PeerId == frame.PeerId
            && state.Orderer.AlreadyDelivered(parsed.PeerId, parsed.Epoch, parsed.Seq))
        {
            _instruments.DuplicatesDropped(state.Name, 1);
            return;
        }

        var reason = RejectReason.Malformed;
        var park = false;
        // A member's link only carries that member's own messages, for the group named by the topic.
        var envelope = parsed is null || parsed.Group != frame.Group || parsed.PeerId != frame.PeerId ? null : OpenChecked(state, parsed, live: true, out reason, out park);
        if (envelope is null)
        {
            if (park)
            {
                Park(state, null, frame.PeerId, frame.Payload);
                return;
            }

            RejectFrame(frame, parsed is not null && (parsed.Group != frame.Group || parsed.PeerId != frame.PeerId) ? RejectReason.BadSignature : reason);
            return;
        }

        var duplicates = state.Orderer.Duplicates;
        CopyLive(state.Name, envelope.HistoryName, frame.Payload);
        foreach (var ready in state.Orderer.OfferLive(envelope, NowMs))
        {
            Deliver(ready, own: false);
        }

        if (state.Orderer.IsWaiting(envelope.PeerId, envelope.Epoch))
        {
            // A message before this one did not come: it is in history (a sender writes before it publishes).
            state.Sweep?.NoteGap();
        }

        _instruments.DuplicatesDropped(state.Name, state.Orderer.Duplicates - duplicates);
    }

    private void RejectFrame(SessionInput.Frame frame, RejectReason why)
    {
        _instruments.FrameRejected(frame.Group);
        if (_rejections.NoteFrame(frame.PeerId, frame.Group, why))
        {
            // A link that sends junk by the hundred is cut for a while; what its member really sent is in history.
            _links.Quarantine(frame.PeerId, NowMs);
            Emit(new ErrorEvent($"link to {Naming.Printable(frame.PeerId)} dropped for {LinkTable.QuarantineTime.TotalSeconds:F0} s: more than {RejectionTally.LinkLimit} rejected frames in {RejectionTally.Interval.TotalSeconds:F0} s ({why})"));
            ApplyLinks();
        }
    }

    /// <summary>Opens a stored history entry; a corrupt, foreign or forged one is skipped with a warning, never fatal.</summary>
    /// <summary>A <c>/join</c> of a name etcd has no group of asks first: a typo would create a group that stays.</summary>
    private (string Group, long AtMs)? _toCreate;

    private static readonly TimeSpan CreateConfirmWindow = TimeSpan.FromMinutes(1);

    /// <summary>Whether <c>/join <paramref name="group"/></c> goes ahead: the group exists (or this home knows it), or
    /// the same <c>/join</c> came again within a minute to confirm creating it.</summary>
    private async Task<bool> ConfirmedAsync(string group, CancellationToken ct)
    {
        if (_groups.ContainsKey(group) || _toCreate is { } asked && asked.Group == group && NowMs - asked.AtMs <= CreateConfirmWindow.TotalMilliseconds)
        {
            _toCreate = null;
            return true;
        }

        try
        {
            if (await _logStore.GetAsync(MeshKeys.Group(group), ct) is not null || _keyring.Of(group).Count > 0 || _logCopy.Load(group) is not null)
            {
                return true;
            }
        }
        catch (EtcdUnavailableException)
        {
            // Not known now: the join itself says what etcd does.
            return true;
        }

        _toCreate = (group, NowMs);
        Emit(new InfoEvent($"there is no group '{group}' yet: type /join {group} again within a minute to create it (open: anyone using this etcd may join)", group));
        return false;
    }

    private Envelope? OpenStored(GroupState state, string name, byte[] value)
    {
        if (Envelope.TryParseHistoryName(name, out var peerId, out var epoch, out var seq) && state.Orderer.AlreadyDelivered(peerId, epoch, seq))
        {
            // The history echo of a message already shown: its name says so, nothing to parse, check or decrypt.
            return null;
        }

        var parsed = EnvelopeCodec.TryParse(value);
        var reason = RejectReason.Malformed;
        var park = false;
        var envelope = parsed is null ? null : OpenChecked(state, parsed, live: false, out reason, out park);
        if (envelope is null && park)
        {
            Park(state, name, parsed!.PeerId, value);

            return null;
        }

        if (envelope is null || envelope.HistoryName != name)
        {
            _rejections.NoteHistory(state.Name, envelope is null ? reason : RejectReason.Malformed);
            _instruments.FrameRejected(state.Name);
            return null;
        }

        return envelope;
    }

    /// <param name="counted">Already offered to the group's retention window (history opened at join).</param>
    private void Deliver(Envelope e, bool own, bool counted = false)
    {
        if (!own)
        {
            _instruments.MessageReceived(e.Group);
            if (_groups.TryGetValue(e.Group, out var state) && state.Ready)
            {
                // Messages of the history loaded at join are not deliveries: only those arriving while in the group count.
                _instruments.Delivered(e.Group, NowMs - e.SentAtMs);
            }
        }

        _clock.Observe(e.Order, NowMs);
        var from = _groups.TryGetValue(e.Group, out var group) ? Label(group, e.PeerId, e.From) : e.From;
        group?.Streams.Note(e.PeerId, e.Epoch, e.Seq);
        if (!counted)
        {
            group?.Window.Offer(e, fromOther: e.PeerId != PeerId, NowMs);
        }
        // Shown as mine whenever my key signed it: an earlier run's messages too (the metrics above count this run's).
        Emit(new MessageEvent(e.Group, e.Id, from, e.Text, e.SentAt, own || e.PeerId == PeerId) { Order = e.Order, Key = e.HistoryName });
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 504, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "repaired {Count} messages of '{Group}' from history")]
    private partial void LogRepaired(long count, string group);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 505, Level = Microsoft.Extensions.Logging.LogLevel.Debug, Message = "took {Count} messages of '{Group}' from history that had not come over a link")]
    private partial void LogTookFromHistory(long count, string group);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 503, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "history of '{Group}': {Local} from the local copy, {Fetched} fetched from etcd")]
    private partial void LogHistoryLoaded(string group, int local, int fetched);
}
