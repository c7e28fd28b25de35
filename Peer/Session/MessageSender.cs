using System.Text;
using Mesh.Coordinator.History;
using Mesh.Peer.Configuration;
using Mesh.Peer.Crypto;
using Mesh.Peer.Home;
using Mesh.Peer.Identity;
using Mesh.Peer.Node;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary>A message that left: in the outbox, published, to be shown as sent. The last message of each history key
/// (a frame of the burst: one message, or several under one signature) carries that key, for history and the copy.</summary>
internal sealed record SentMessage(GroupState State, Envelope Envelope, int Bytes, HistoryEntry? Key);

/// <summary>Typed lines become messages: numbered, held while the key of a new epoch is on its way, sealed in bursts
/// (one signature each), written to the outbox, then published. Session loop only.</summary>
/// <remarks>
/// A message is numbered when typed (1, 2, 3… per group for this run, without gaps) and stamped with a send time that
/// never goes backwards and an order stamp after everything this peer has seen. A sealed burst is handed to the
/// outbox's writer (the home writer's thread: the loop does not wait for the disk), and is published and shown as sent
/// only once the writer says, back on the loop, that it is in the outbox: a full disk or a read-only home refuses the
/// whole burst, which is then neither published nor shown. Bursts come back in the order they were handed over.
/// </remarks>
internal sealed class MessageSender(
    string peerId,
    string name,
    long runEpoch,
    PeerIdentity identity,
    EpochKeyring keyring,
    IOutboxAppender outbox,
    IFramePublisher publisher,
    HybridClock clock,
    Action<SentMessage> sent,
    Action<string> error)
{
    /// <summary>The most messages sealed under one signature.</summary>
    public const int MaxBurst = 64;

    private readonly List<(GroupState State, Envelope Envelope)> _unsent = [];
    private readonly Dictionary<string, long> _seqs = new(StringComparer.Ordinal);

    /// <summary>Per group, the numbers of refused bursts that others were numbered after: given back as well if all
    /// those after are refused too (a full disk refuses every burst in flight, not just the last).</summary>
    private readonly Dictionary<string, Stack<(long First, long Last)>> _refused = new(StringComparer.Ordinal);
    private long _lastSentAtMs;

    /// <summary>Where the outbox is, for messages that name it.</summary>
    public string OutboxPath { get; init; } = "outbox";

    /// <summary>Messages typed and not sealed yet.</summary>
    public int Unsent => _unsent.Count;

    /// <summary>The last number this run gave a message of <paramref name="group"/> (0 when none).</summary>
    public long LastSeq(string group) => _seqs.GetValueOrDefault(group);

    private readonly Dictionary<string, long> _published = new(StringComparer.Ordinal);

    /// <summary>The last number this run published in <paramref name="group"/> (0 when none): what a beat may name, since
    /// a beat leaves after the messages it counts.</summary>
    public long LastPublished(string group) => _published.GetValueOrDefault(group);

    /// <summary>Takes one typed message for <paramref name="state"/>; says why when it cannot leave. It leaves at the
    /// next <see cref="Flush"/> (or at once when a burst is full).</summary>
    public void Type(GroupState state, string text, long nowMs)
    {
        if (!state.Connected)
        {
            error($"message not sent: not admitted to '{state.Name}' yet (waiting for a member to add you)");
            return;
        }

        if (state.Leaving)
        {
            error($"message not sent: leaving '{state.Name}'");
            return;
        }

        var size = Encoding.UTF8.GetByteCount(text);
        if (size > Naming.MaxTextBytes)
        {
            error($"message not sent: {size} bytes of text, the limit is {Naming.MaxTextBytes} bytes (UTF-8)");
            return;
        }

        if (!state.CanSend && state.Held.Count >= GroupState.MaxHeld)
        {
            error($"message not sent: {state.Held.Count} lines already wait for the new key of '{state.Name}'");
            return;
        }

        // Send times never go backwards for one sender; the order stamp follows everything this peer has seen, so
        // that history keys sort a reply after what it replies to, whatever the senders' clocks say.
        _lastSentAtMs = Math.Max(nowMs, _lastSentAtMs);
        // Numbered per group: a receiver of one group sees no gap where this peer spoke in another. The count
        // survives leaving and joining again within a run, so no number is used twice.
        var seq = _seqs[state.Name] = _seqs.GetValueOrDefault(state.Name) + 1;
        var envelope = new Envelope(state.Name, peerId, runEpoch, seq, name, _lastSentAtMs, text, clock.Next(_lastSentAtMs));
        if (!state.CanSend)
        {
            // A new epoch was committed and its key is on its way: the line leaves under it, not under the old key.
            state.Held.Add(envelope);
            return;
        }

        _unsent.Add((state, envelope));
        if (_unsent.Count >= MaxBurst)
        {
            Flush();
        }
    }

    /// <summary>The key of the current epoch is here: what was held leaves, in the order typed.</summary>
    public void ReleaseHeld(GroupState state)
    {
        if (state.CanSend && state.Held.Count > 0)
        {
            _unsent.AddRange(state.Held.Select(e => (state, e)));
            state.Held.Clear();
            Flush();
        }
    }

    /// <summary>Seals the messages typed since the last flush, one signature per group's burst, and hands each burst to
    /// the outbox; it is published and shown once the outbox has it.</summary>
    /// <remarks>
    /// The session calls this whenever it has no more input waiting (so a lone message leaves at once), and before any
    /// input that could change what sending means (commands, keys, members).
    /// </remarks>
    public void Flush()
    {
        if (_unsent.Count == 0)
        {
            return;
        }

        var unsent = _unsent.ToList();
        _unsent.Clear();
        foreach (var burst in unsent.GroupBy(u => u.State))
        {
            var state = burst.Key;
            var envelopes = burst.Select(u => u.Envelope).ToList();
            var epoch = state.Log.CurrentEpoch.Number;
            if (state.Left || keyring.TryGet(state.Name, epoch) is not { } key)
            {
                // The group was left, or its epoch changed since these were typed: they wait for the new key (or are lost with the group).
                state.Held.AddRange(envelopes);
                state.CanSend = false;
                continue;
            }

            var head = state.Log.Head;
            var payloads = EnvelopeCodec.SealBurst(envelopes, key, identity, epoch, head);
            // As every receiver opens them: judged at the log head they were sealed at.
            envelopes = envelopes.ConvertAll(e => e with { LogHead = head });
            // The burst leaves as one frame (or a few, if large), and each frame is one history key: one encryption per
            // subscriber and one wake-up each on the wire, one key and one signature check in history.
            var frames = BurstFrame.PackRanges(payloads);
            var entries = new HistoryEntry[frames.Count];
            for (var i = 0; i < entries.Length; i++)
            {
                var (frame, start, count) = frames[i];
                entries[i] = new HistoryEntry(state.Name, HistoryKey.Name([.. envelopes.Skip(start).Take(count).Select(e => e.HistoryName)]), frame);
            }

            // On disk first: once shown as sent, a message reaches history even if etcd or this process goes away.
            _inFlight[state.Name] = _inFlight.GetValueOrDefault(state.Name) + 1;
            outbox.AppendOutbox(entries, failure =>
            {
                if (failure is null)
                {
                    Publish(state, envelopes, frames, entries, payloads);
                }
                else
                {
                    Refused(state.Name, envelopes, failure);
                }

                Landed(state.Name);
            });
        }
    }

    private readonly Dictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Action>> _whenPublished = new(StringComparer.Ordinal);

    /// <summary>Runs <paramref name="then"/> once every burst of <paramref name="group"/> handed to the outbox so far has
    /// been published (or refused): at once when none is on its way. What must follow this peer's messages on the wire
    /// (its leave) waits for them.</summary>
    public void WhenPublished(string group, Action then)
    {
        if (_inFlight.GetValueOrDefault(group) == 0)
        {
            then();
            return;
        }

        if (!_whenPublished.TryGetValue(group, out var waiting))
        {
            _whenPublished[group] = waiting = [];
        }

        waiting.Add(then);
    }

    /// <summary>Loop: a burst of <paramref name="group"/> came back from the outbox; what waited for the last runs after it.</summary>
    private void Landed(string group)
    {
        if (--_inFlight[group] > 0)
        {
            return;
        }

        _inFlight.Remove(group);
        if (_whenPublished.Remove(group, out var waiting))
        {
            // After this burst's own publishing: posted behind it on the loop.
            foreach (var then in waiting)
            {
                then();
            }
        }
    }

    /// <summary>Loop: the burst is in the outbox. It leaves even if its group was left meanwhile: it reaches history
    /// from the outbox either way, and the history writer acknowledges outbox records in the order they were sent.</summary>
    private void Publish(GroupState state, List<Envelope> envelopes, List<(byte[] Frame, int Start, int Count)> frames, HistoryEntry[] entries,
        IReadOnlyList<byte[]> payloads)
    {
        // Refused bursts numbered before this one can no longer be the last: their numbers stay a gap.
        _refused.Remove(state.Name);
        _published[state.Name] = Math.Max(_published.GetValueOrDefault(state.Name), envelopes[^1].Seq);

        foreach (var (frame, _, _) in frames)
        {
            publisher.Publish(state.Name, frame);
        }

        for (var f = 0; f < frames.Count; f++)
        {
            var (_, start, count) = frames[f];
            for (var i = start; i < start + count; i++)
            {
                sent(new SentMessage(state, envelopes[i], payloads[i].Length, i == start + count - 1 ? entries[f] : null));
            }
        }
    }

    /// <summary>Loop: nothing of the burst is kept, so nothing of it is shown as sent or published, and its numbers are
    /// given back when nothing was numbered after them: receivers then see no gap that history can never fill.</summary>
    private void Refused(string group, List<Envelope> envelopes, Exception failure)
    {
        var (first, last) = (envelopes[0].Seq, envelopes[^1].Seq);
        if (_seqs.GetValueOrDefault(group) != last)
        {
            if (!_refused.TryGetValue(group, out var earlier))
            {
                _refused[group] = earlier = new Stack<(long First, long Last)>();
            }

            earlier.Push((first, last));
        }
        else
        {
            _seqs[group] = first - 1;
            while (_refused.TryGetValue(group, out var earlier) && earlier.TryPeek(out var before) && before.Last == _seqs[group])
            {
                earlier.Pop();
                _seqs[group] = before.First - 1;
            }
        }

        error(failure is OutboxFullException
            ? $"{envelopes.Count} message(s) to '{group}' not sent: the outbox ({OutboxPath}) is full with {failure.Message}; is etcd full or unreachable?"
            : $"{envelopes.Count} message(s) to '{group}' not sent: the outbox ({OutboxPath}) cannot be written: {failure.Message}");
    }
}
