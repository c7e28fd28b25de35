using Mesh.Coordinator.History;
using Mesh.Peer.Configuration;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary>What arrives: frames from links and entries from history, checked by the gate, ordered per sender and
/// shown; what cannot be opened yet parked, junk counted. Session loop only.</summary>
internal sealed class Receiver(SessionCore core, SessionParts parts, EnvelopeGate gate, RejectionTally rejections, HistoryWriter writer)
{
    /// <summary>What the sender reports gone: into history (through the writer), the local copy and the view.</summary>
    public void OnSent(SentMessage message)
    {
        var (state, envelope, entry) = message;
        writer.Enqueue(entry);
        parts.Sweeps.CopyLive(state.Name, entry.Name, entry.Value);
        state.Orderer.MarkOwn(envelope);
        core.Instruments.MessageSent(state.Name, entry.Value.Length);
        Deliver(envelope, own: true);
    }

    public void OnFrame(SessionInput.Frame frame)
    {
        if (!core.Groups.TryGetValue(frame.Group, out var state) || !state.Connected)
        {
            return;
        }

        core.Instruments.BytesReceived(frame.Group, frame.Payload.Length);
        if (MemberBeat.IsBeat(frame.Payload))
        {
            parts.Beats.OnBeat(state, frame);
            return;
        }

        core.ActiveAtMs = core.MonoMs;

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
            core.Instruments.DuplicatesDropped(state.Name, 1);
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
                TellWaitingForKey(state, parsed!);
                return;
            }

            RejectFrame(frame, parsed is not null && (parsed.Group != frame.Group || parsed.PeerId != frame.PeerId) ? RejectReason.BadSignature : reason);
            return;
        }

        if (gate.StaleFor is { } ended && state.StaleSendersTold.Add((envelope.PeerId, ended)))
        {
            // Taken (the log says this member may have sealed it), in its place: but whoever held that epoch's key
            // can read it, and its sender does not know yet. Said once per sender and epoch.
            core.Emit(new InfoEvent($"{state.Label(envelope.PeerId, envelope.From)} still sends under epoch {ended} of '{state.Name}', which ended: "
                + "it has not read the group's new key yet (its link to etcd may be down)", state.Name));
        }

        var duplicates = state.Orderer.Duplicates;
        parts.Sweeps.CopyLive(state.Name, envelope.HistoryName, frame.Payload);
        foreach (var ready in state.Orderer.OfferLive(envelope, core.MonoMs))
        {
            Deliver(ready, own: false);
        }

        if (state.Orderer.IsWaiting(envelope.PeerId, envelope.Epoch))
        {
            // A message before this one did not come: it is in history (a sender writes before it publishes).
            state.Sweep?.NoteGap();
        }

        core.Instruments.DuplicatesDropped(state.Name, state.Orderer.Duplicates - duplicates);
    }

    public void RejectFrame(SessionInput.Frame frame, RejectReason why)
    {
        core.Instruments.FrameRejected(frame.Group);
        if (rejections.NoteFrame(frame.PeerId, frame.Group, why))
        {
            // A link that sends junk by the hundred is cut for a while; what its member really sent is in history.
            parts.Links.Table.Quarantine(frame.PeerId, core.MonoMs);
            core.Emit(new ErrorEvent($"link to {Naming.Printable(frame.PeerId)} dropped for {LinkTable.QuarantineTime.TotalSeconds:F0} s: more than {RejectionTally.LinkLimit} rejected frames in {RejectionTally.Interval.TotalSeconds:F0} s ({why})"));
            parts.Links.ApplyLinks();
        }
    }

    /// <summary>Takes what opening a stored entry off the loop came to: an entry that may open later is parked, one
    /// that never will is counted.</summary>
    public Envelope? TakeOpened(GroupState state, HistoryEntry entry, HistoryOpener.Opened opened)
    {
        if (opened.Envelope is { } envelope)
        {
            return envelope;
        }

        if (opened.Park)
        {
            Park(state, entry.Name, opened.PeerId, entry.Value);
            return null;
        }

        rejections.NoteHistory(state.Name, opened.Reason);
        core.Instruments.FrameRejected(state.Name);
        return null;
    }

    /// <summary>Counts <paramref name="keys"/> stored keys whose name and contents disagree (an etcd writer's): each
    /// costs itself, nothing else.</summary>
    public void RejectStored(GroupState state, int keys)
    {
        for (var i = 0; i < keys; i++)
        {
            rejections.NoteHistory(state.Name, RejectReason.Malformed);
            core.Instruments.FrameRejected(state.Name);
        }
    }

    /// <summary>Opens each message of a stored key (one, or a sender's burst); a key that is not well formed is counted.</summary>
    public IEnumerable<Envelope> OpenStoredKey(GroupState state, HistoryEntry key)
    {
        if (HistoryKey.TryExpand(key) is not { } messages)
        {
            RejectStored(state, 1);
            yield break;
        }

        foreach (var message in messages)
        {
            if (OpenStored(state, message.Name, message.Value) is { } envelope)
            {
                yield return envelope;
            }
        }
    }

    public Envelope? OpenStored(GroupState state, string name, byte[] value)
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
            rejections.NoteHistory(state.Name, envelope is null ? reason : RejectReason.Malformed);
            core.Instruments.FrameRejected(state.Name);
            return null;
        }

        return envelope;
    }

    /// <param name="counted">Already offered to the group's retention window (history opened at join).</param>
    public void Deliver(Envelope e, bool own, bool counted = false)
    {
        if (!own)
        {
            core.Instruments.MessageReceived(e.Group);
            if (core.Groups.TryGetValue(e.Group, out var state) && state.Ready)
            {
                // Messages of the history loaded at join are not deliveries: only those arriving while in the group count.
                core.Instruments.Delivered(e.Group, core.NowMs - e.SentAtMs);
            }
        }

        core.Clock.Observe(e.Order, core.NowMs);
        var from = core.Groups.TryGetValue(e.Group, out var group) ? group.Label(e.PeerId, e.From) : e.From;
        group?.Streams.Note(e.PeerId, e.Epoch, e.Seq);
        if (!counted)
        {
            group?.Window.Offer(e, fromOther: e.PeerId != core.PeerId, core.NowMs);
        }
        // Shown as mine whenever my key signed it: an earlier run's messages too (the metrics above count this run's).
        core.Emit(new MessageEvent(e.Group, e.Id, from, e.Text, e.SentAt, own || e.PeerId == core.PeerId) { Order = e.Order, Key = e.HistoryName });
    }

    /// <summary>Keeps a frame or history entry that names an epoch key or a log state this peer does not have yet.</summary>
    private void Park(GroupState state, string? historyName, string peerId, byte[] payload)
    {
        for (var dropped = state.Parked.Add(historyName, peerId, payload); dropped > 0; dropped--)
        {
            core.Instruments.FrameRejected(state.Name);
        }
    }

    /// <summary>Says once per epoch that live messages wait for a key or a log entry this peer has not read yet.</summary>
    private void TellWaitingForKey(GroupState state, SealedEnvelope parsed)
    {
        if (parsed.KeyEpoch > state.Log.CurrentEpoch.Number + 1 || !state.KeysWaitedFor.Add(parsed.KeyEpoch))
        {
            // One past the current epoch at most is said: a claim beyond it is no honest member's.
            return;
        }

        core.Emit(new WaitingEvent(state.Name, parsed.KeyEpoch > state.Log.CurrentEpoch.Number || core.Keyring.TryGet(state.Name, parsed.KeyEpoch) is not null
            ? $"messages in '{state.Name}' wait for group log entries (epoch {parsed.KeyEpoch}) this peer has not read from etcd yet"
            : $"messages in '{state.Name}' wait for the key of epoch {parsed.KeyEpoch}, which this peer does not hold yet"));
    }

    public void Unpark(GroupState state)
    {
        foreach (var (historyName, peerId, payload) in state.Parked.TakeAll())
        {
            if (historyName is null)
            {
                OnFrame(new SessionInput.Frame(peerId, state.Name, payload));
            }
            else if (OpenStored(state, historyName, payload) is { } envelope)
            {
                foreach (var ready in state.Orderer.OfferHistory(envelope))
                {
                    Deliver(ready, own: false);
                }
            }
        }
    }

    public Envelope? OpenChecked(GroupState state, SealedEnvelope parsed, bool live, out RejectReason reason, out bool park) =>
        gate.Open(state, parsed, live, core.MonoMs, out reason, out park);
}
