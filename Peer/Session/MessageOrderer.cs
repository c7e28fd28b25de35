using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary>Turns messages arriving live and from history, in any order and any number of times, into one stream
/// that holds each message once and each sender's messages in the order sent.</summary>
/// <remarks>
/// Every sender run (peer, epoch) numbers its messages 1, 2, 3… A live message that arrives ahead of its turn waits
/// until the ones before it come (live, or from history, which a sender writes in order). History is authoritative:
/// when it moves past a number that never arrived, that message was never persisted and is not waited for. A message
/// waiting longer than the gap timeout is released anyway; the numbers it skipped stay acceptable, so one that turns
/// up later is still shown, once, rather than lost.
/// </remarks>
internal sealed class MessageOrderer
{
    /// <summary>A hostile or broken sender must not make us remember unbounded numbers.</summary>
    private const int MaxTracked = 10_000;

    private readonly Dictionary<string, SenderStream> _streams = new(StringComparer.Ordinal);

    /// <summary>Messages released past a gap that did not fill in time.</summary>
    public long GapsSkipped { get; private set; }

    /// <summary>Messages that filled a gap: they came from history while later ones waited for them, or arrived after
    /// their gap had been given up on.</summary>
    public long GapsRepaired { get; private set; }

    private long _duplicates;

    /// <summary>Copies of messages already delivered that were dropped (counted atomically: history pages are
    /// opened on several threads).</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    public int Waiting => _streams.Values.Sum(s => s.Pending.Count);

    /// <summary>True when this message was delivered already: a copy, which needs no checking to be dropped.</summary>
    public bool AlreadyDelivered(string peerId, long epoch, long seq)
    {
        if (!_streams.TryGetValue(peerId + ":" + epoch, out var stream) || seq >= stream.Next || stream.Skipped.Contains(seq))
        {
            return false;
        }

        Interlocked.Increment(ref _duplicates);
        return true;
    }

    /// <summary>Records a message this peer sent itself (already shown), so its echoes are dropped.</summary>
    public void MarkOwn(Envelope e)
    {
        var stream = StreamOf(e);
        stream.Next = Math.Max(stream.Next, e.Seq + 1);
    }

    public IReadOnlyList<Envelope> OfferLive(Envelope e, long nowMs)
    {
        var stream = StreamOf(e);
        if (e.Seq < stream.Next)
        {
            return LateOrDuplicate(stream, e);
        }

        if (e.Seq == stream.Next)
        {
            var ready = new List<Envelope> { e };
            stream.Next++;
            Drain(stream, ready);
            return ready;
        }

        if (stream.Pending.Count < MaxTracked && !stream.Pending.ContainsKey(e.Seq))
        {
            stream.Pending[e.Seq] = (e, nowMs);
        }
        else if (stream.Pending.ContainsKey(e.Seq))
        {
            Interlocked.Increment(ref _duplicates);
        }

        return [];
    }

    public IReadOnlyList<Envelope> OfferHistory(Envelope e)
    {
        var stream = StreamOf(e);
        if (e.Seq < stream.Next)
        {
            return LateOrDuplicate(stream, e);
        }

        var ready = new List<Envelope>();
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
        foreach (var stream in _streams.Values)
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
            ReleaseUpTo(stream, stream.Pending.Keys.Max(), ready);
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
            var tracked = Math.Min(missing, MaxTracked - stream.Skipped.Count);
            for (long i = 0; i < tracked; i++)
            {
                stream.Skipped.Add(stream.Next + i);
            }
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

    private SenderStream StreamOf(Envelope e)
    {
        var key = e.PeerId + ":" + e.Epoch;
        if (!_streams.TryGetValue(key, out var stream))
        {
            _streams[key] = stream = new SenderStream();
        }

        return stream;
    }

    private sealed class SenderStream
    {
        public long Next { get; set; } = 1;

        public SortedDictionary<long, (Envelope Envelope, long ArrivedMs)> Pending { get; } = new();

        public HashSet<long> Skipped { get; } = new();
    }
}
