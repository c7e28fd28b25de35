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
        var (state, envelope, bytes, key) = message;
        if (key is not null)
        {
            writer.Enqueue(key);
            parts.Sweeps.CopyLive(state.Name, key.Name, key.Value);
        }

        state.Orderer.MarkOwn(envelope);
        core.Instruments.MessageSent(state.Name, bytes);
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
            if (BurstFrame.TrySplit(frame.Payload) is not { } pieces)
            {
                RejectFrame(frame, RejectReason.Malformed);
                return;
            }

            var parsed = pieces.ConvertAll(piece => EnvelopeCodec.TryParse(piece));
            // A sender's burst frame is the history key it wrote: the copy takes it whole, under the same name, so that
            // it holds what etcd holds. Any other frame (an older sender's) is copied message by message, as written.
            var keyName = KeyName(parsed);
            var fresh = false;
            for (var i = 0; i < pieces.Count; i++)
            {
                fresh |= OnEnvelopeFrame(state, frame with { Payload = pieces[i] }, parsed[i], copy: keyName is null);
            }

            if (fresh && keyName is not null)
            {
                parts.Sweeps.CopyLive(state.Name, keyName, frame.Payload);
            }

            return;
        }

        OnEnvelopeFrame(state, frame, EnvelopeCodec.TryParse(frame.Payload), copy: true);
    }

    /// <summary>The history key a burst frame's parts make (one sender and run, consecutive numbers, one signature, in
    /// name order), or null.</summary>
    private static string? KeyName(List<SealedEnvelope?> parsed)
    {
        if (parsed.Count < 2 || parsed.Count > BurstFrame.MaxParts || parsed[0] is not { } first)
        {
            return null;
        }

        var names = new List<string>(parsed.Count) { first.HistoryName };
        for (var i = 1; i < parsed.Count; i++)
        {
            if (parsed[i] is not { } part || part.PeerId != first.PeerId || part.Epoch != first.Epoch || part.Seq != first.Seq + i
                || !part.Signature.AsSpan().SequenceEqual(first.Signature) || string.CompareOrdinal(names[^1], part.HistoryName) >= 0)
            {
                return null;
            }

            names.Add(part.HistoryName);
        }

        return HistoryKey.Name(names);
    }

    /// <summary>Takes one envelope of a live frame; true when it was new to this peer (shown, held for an earlier one, or
    /// parked), false for a copy of one held already or junk. <paramref name="copy"/>: the local copy takes it alone.</summary>
    private bool OnEnvelopeFrame(GroupState state, SessionInput.Frame frame, SealedEnvelope? parsed, bool copy)
    {
        if (parsed is not null && parsed.Group == frame.Group && parsed.PeerId == frame.PeerId
            && state.Orderer.AlreadyDelivered(parsed.PeerId, parsed.Epoch, parsed.Seq))
        {
            core.Instruments.DuplicatesDropped(state.Name, 1);
            return false;
        }

        var reason = RejectReason.Malformed;
        var park = false;
        // A member's link only carries that member's own messages, for the group named by the topic.
        var envelope = parsed is null || parsed.Group != frame.Group || parsed.PeerId != frame.PeerId ? null : OpenChecked(state, parsed, live: true, out reason, out park);
        if (envelope is null)
        {
            if (park)
            {
                Park(state, null, frame.PeerId, frame.Payload, copied: !copy);
                TellWaitingForKey(state, parsed!);
                return true;
            }

            RejectFrame(frame, parsed is not null && (parsed.Group != frame.Group || parsed.PeerId != frame.PeerId) ? RejectReason.BadSignature : reason);
            return false;
        }

        if (gate.StaleFor is { } ended && state.StaleSendersTold.Add((envelope.PeerId, ended)))
        {
            // Taken (the log says this member may have sealed it), in its place: but whoever held that epoch's key
            // can read it, and its sender does not know yet. Said once per sender and epoch.
            core.Emit(new InfoEvent($"{state.Label(envelope.PeerId, envelope.From)} still sends under epoch {ended} of '{state.Name}', which ended: "
                + "it has not read the group's new key yet (its link to etcd may be down)", state.Name));
        }

        var duplicates = state.Orderer.Duplicates;
        if (copy)
        {
            parts.Sweeps.CopyLive(state.Name, envelope.HistoryName, frame.Payload);
        }

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
        return true;
    }

    public void RejectFrame(SessionInput.Frame frame, RejectReason why)
    {
        core.Instruments.FrameRejected(frame.Group);
        if (rejections.NoteFrame(frame.PeerId, frame.Group, why))
        {
            // A link that sends junk by the hundred is cut for a while; what its member really sent is in history.
            parts.Links.Table.Quarantine(frame.PeerId, core.MonoMs);
            core.Emit(new ErrorEvent($"link to {Naming.Printable(frame.PeerId)} dropped for {LinkTable.QuarantineTime.TotalSeconds:F0} s: more than {RejectionTally.LinkLimit} rejected frames in {rejections.Interval.TotalSeconds:F0} s ({why})"));
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

        if (envelope is not null && envelope.HistoryName != name)
        {
            // Stored under another message's name: that message's tombstone, or an etcd writer's replay.
            envelope = Tombstone.TryOpen(name, envelope, state.Follower is null ? null : state.Log);
            reason = RejectReason.Malformed;
        }

        if (envelope is null)
        {
            rejections.NoteHistory(state.Name, reason);
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
        // A reaction, edit or delete is its own event; a forged edit or delete is refused here, by every receiver.
        if (Conversation.Interpret(group?.Follower is null ? null : group.Log, e, from, own || e.PeerId == core.PeerId) is { } shown)
        {
            core.Emit(shown);
            if (shown is DeleteEvent delete && group is not null)
            {
                // The text goes for good: from the copy, and from etcd (by whoever deleted it).
                parts.Erasures.OnDelete(group, delete, mine: own && e.PeerId == core.PeerId);
            }
        }
        else
        {
            rejections.NoteHistory(e.Group, RejectReason.NotAuthorised);
        }
    }

    /// <summary>Keeps a frame or history entry that names an epoch key or a log state this peer does not have yet.</summary>
    /// <param name="copied">A live message whose frame the local copy took whole already.</param>
    private void Park(GroupState state, string? historyName, string peerId, byte[] payload, bool copied = false)
    {
        for (var dropped = state.Parked.Add(historyName, peerId, payload, copied); dropped > 0; dropped--)
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
        foreach (var (historyName, peerId, payload, copied) in state.Parked.TakeAll())
        {
            if (historyName is null && copied)
            {
                // A message of a burst frame the copy holds whole: taken alone, not copied again.
                OnEnvelopeFrame(state, new SessionInput.Frame(peerId, state.Name, payload), EnvelopeCodec.TryParse(payload), copy: false);
            }
            else if (historyName is null)
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
