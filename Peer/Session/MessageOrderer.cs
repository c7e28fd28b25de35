using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary>Turns messages arriving live and from history, in any order and any number of times, into one stream
/// that holds each message once and each sender's messages in the order sent.</summary>
/// <remarks>
/// Every sender run (peer, epoch) numbers its messages 1, 2, 3… A live message that arrives ahead of its turn waits
/// until the ones before it come (live, or from history, which a sender writes in order). History is authoritative:
/// when it moves past a number that never arrived, that message was never persisted and is not waited for. A message
/// waiting longer than the gap timeout is released anyway; the numbers it skipped stay acceptable (as ranges, see
/// <see cref="SeqRanges"/>), so one that turns up later is still shown, once, rather than lost.
/// <para>Bounded against hostile senders: at most <see cref="MaxPending"/> messages wait per stream (beyond that the
/// oldest are released past their gap, never dropped), and at most <see cref="MaxRunsPerSender"/> runs are followed
/// per sender: an older run is then closed (what waited in it is released) and its late copies are dropped.</para>
/// </remarks>
internal sealed class MessageOrderer
{
    public const int MaxPending = 10_000;

    public const int MaxRunsPerSender = 16;

    private readonly Dictionary<string, SenderRuns> _senders = new(StringComparer.Ordinal);

    /// <summary>Messages released past a gap that did not fill in time.</summary>
    public long GapsSkipped { get; private set; }

    /// <summary>Messages that filled a gap: they came from history while later ones waited for them, or arrived after
    /// their gap had been given up on.</summary>
    public long GapsRepaired { get; private set; }

    private long _duplicates;

    /// <summary>Copies of messages already delivered that were dropped (counted atomically: history pages are
    /// opened on several threads).</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Messages of runs closed to stay within <see cref="MaxRunsPerSender"/> that came after all, dropped.</summary>
    public long Stale { get; private set; }

    public int Waiting => _senders.Values.Sum(s => s.Runs.Values.Sum(r => r.Pending.Count));

    /// <summary>True when this message was delivered already: a copy, which needs no checking to be dropped.</summary>
    public bool AlreadyDelivered(string peerId, long epoch, long seq)
    {
        if (!Holds(peerId, epoch, seq))
        {
            return false;
        }

        Interlocked.Increment(ref _duplicates);
        return true;
    }

    /// <summary>Like <see cref="AlreadyDelivered"/>, without counting a duplicate: whether a copy of this message would
    /// add nothing (it was delivered, or its run is closed).</summary>
    public bool Holds(string peerId, long epoch, long seq)
    {
        if (!_senders.TryGetValue(peerId, out var sender))
        {
            return false;
        }

        if (!sender.Runs.TryGetValue(epoch, out var stream))
        {
            return epoch <= sender.ClosedUpTo;
        }

        return seq < stream.Next && !stream.Skipped.Contains(seq);
    }

    /// <summary>Whether a message of this sender run numbered <paramref name="lastSeq"/> or lower was not delivered:
    /// it waits behind a gap, was released past one, or has not come at all (a member's beat names its last number).</summary>
    public bool Misses(string peerId, long epoch, long lastSeq)
    {
        if (!_senders.TryGetValue(peerId, out var sender))
        {
            return true;
        }

        if (!sender.Runs.TryGetValue(epoch, out var stream))
        {
            return epoch > sender.ClosedUpTo;
        }

        return stream.Next <= lastSeq || stream.Skipped.Count > 0;
    }

    /// <summary>Whether messages of this sender run wait for an earlier one.</summary>
    public bool IsWaiting(string peerId, long epoch) =>
        _senders.TryGetValue(peerId, out var sender) && sender.Runs.TryGetValue(epoch, out var stream) && stream.Pending.Count > 0;

    /// <summary>Records a message this peer sent itself (already shown), so its echoes are dropped.</summary>
    public void MarkOwn(Envelope e)
    {
        if (StreamOf(e, []) is { } stream)
        {
            stream.Next = Math.Max(stream.Next, e.Seq + 1);
        }
    }

    public IReadOnlyList<Envelope> OfferLive(Envelope e, long nowMs)
    {
        var released = new List<Envelope>();
        if (StreamOf(e, released) is not { } stream)
        {
            return released;
        }

        if (e.Seq < stream.Next)
        {
            return LateOrDuplicate(stream, e);
        }

        if (e.Seq == stream.Next)
        {
            released.Add(e);
            stream.Next++;
            Drain(stream, released);
            return released;
        }

        if (stream.Pending.ContainsKey(e.Seq))
        {
            Interlocked.Increment(ref _duplicates);
            return released;
        }

        if (stream.Pending.Count >= MaxPending)
        {
            // Waiting is bounded: the oldest waiting message goes now, past its gap (which stays acceptable).
            ReleaseUpTo(stream, stream.Pending.Keys.First(), released);
            Drain(stream, released);
        }

        stream.Pending[e.Seq] = (e, nowMs);
        return released;
    }

    public IReadOnlyList<Envelope> OfferHistory(Envelope e)
    {
        var ready = new List<Envelope>();
        if (StreamOf(e, ready) is not { } stream)
        {
            return ready;
        }

        if (e.Seq < stream.Next)
        {
            ready.AddRange(LateOrDuplicate(stream, e));
            return ready;
        }

        if (e.Seq > stream.Next)
        {
            // History moved past numbers we never got: release what waited before this one, in order.
            ReleaseUpTo(stream, e.Seq - 1, ready);
        }
        else if (stream.Pending.Count > 0)
        {
            // Later messages of this sender wait for this one: history repairs the gap the live stream left.
            GapsRepaired++;
        }

        stream.Pending.Remove(e.Seq);
        ready.Add(e);
        stream.Next = e.Seq + 1;
        Drain(stream, ready);
        return ready;
    }

    /// <summary>Releases messages that waited longer than <paramref name="maxWaitMs"/> for a gap to fill.</summary>
    public IReadOnlyList<Envelope> Expire(long nowMs, long maxWaitMs)
    {
        List<Envelope>? ready = null;
        foreach (var stream in _senders.Values.SelectMany(s => s.Runs.Values))
        {
            if (stream.Pending.Count == 0)
            {
                continue;
            }

            var oldest = stream.Pending.Values.Min(p => p.ArrivedMs);
            if (nowMs - oldest < maxWaitMs)
            {
                continue;
            }

            ready ??= [];
            ReleaseUpTo(stream, stream.Pending.Keys.Last(), ready);
        }

        return ready ?? (IReadOnlyList<Envelope>)[];
    }

    private void ReleaseUpTo(SenderStream stream, long last, List<Envelope> ready)
    {
        foreach (var seq in stream.Pending.Keys.Where(s => s <= last).ToList())
        {
            SkipTo(stream, seq);
            ready.Add(stream.Pending[seq].Envelope);
            stream.Pending.Remove(seq);
            stream.Next = seq + 1;
        }

        SkipTo(stream, last + 1);
    }

    /// <summary>Remembers the numbers from Next up to (not including) <paramref name="seq"/> as skipped.</summary>
    private void SkipTo(SenderStream stream, long seq)
    {
        var missing = seq - stream.Next;
        if (missing > 0)
        {
            GapsSkipped += missing;
            stream.Skipped.AddAbove(stream.Next, seq - 1);
        }

        stream.Next = Math.Max(stream.Next, seq);
    }

    private IReadOnlyList<Envelope> LateOrDuplicate(SenderStream stream, Envelope e)
    {
        if (stream.Skipped.Remove(e.Seq))
        {
            GapsRepaired++;
            return [e];
        }

        Interlocked.Increment(ref _duplicates);
        return [];
    }

    private static void Drain(SenderStream stream, List<Envelope> ready)
    {
        while (stream.Pending.Remove(stream.Next, out var next))
        {
            ready.Add(next.Envelope);
            stream.Next++;
        }
    }

    /// <summary>The stream of <paramref name="e"/>'s sender run, opened if new; null for a run closed already (its
    /// message is stale). Opening a run beyond <see cref="MaxRunsPerSender"/> closes the oldest, releasing into
    /// <paramref name="released"/> what waited in it.</summary>
    private SenderStream? StreamOf(Envelope e, List<Envelope> released)
    {
        if (!_senders.TryGetValue(e.PeerId, out var sender))
        {
            _senders[e.PeerId] = sender = new SenderRuns();
        }

        if (sender.Runs.TryGetValue(e.Epoch, out var stream))
        {
            return stream;
        }

        if (e.Epoch <= sender.ClosedUpTo)
        {
            Stale++;
            return null;
        }

        sender.Runs[e.Epoch] = stream = new SenderStream();
        while (sender.Runs.Count > MaxRunsPerSender)
        {
            var (oldest, closing) = sender.Runs.First();
            sender.Runs.Remove(oldest);
            sender.ClosedUpTo = Math.Max(sender.ClosedUpTo, oldest);
            foreach (var (_, waiting) in closing.Pending)
            {
                released.Add(waiting.Envelope);
            }
        }

        return sender.Runs.TryGetValue(e.Epoch, out stream) ? stream : null;
    }

    /// <summary>The runs of one sender that are followed, by epoch, and the newest run closed.</summary>
    private sealed class SenderRuns
    {
        public SortedDictionary<long, SenderStream> Runs { get; } = new();

        public long ClosedUpTo { get; set; }
    }

    private sealed class SenderStream
    {
        public long Next { get; set; } = 1;

        public SortedDictionary<long, (Envelope Envelope, long ArrivedMs)> Pending { get; } = new();

        public SeqRanges Skipped { get; } = new();
    }
}
