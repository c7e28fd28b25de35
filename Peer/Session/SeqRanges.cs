namespace Mesh.Peer.Session;

/// <summary>A set of sequence numbers kept as disjoint ranges: the numbers a sender's stream skipped and may still
/// deliver. A gap of a million numbers costs one range, not a million entries.</summary>
/// <remarks>At most <see cref="MaxRanges"/> ranges: beyond that the lowest range is forgotten (its numbers then count
/// as delivered). Only a sender that skips numbers on purpose, again and again, gets there, and it costs only its own
/// messages.</remarks>
internal sealed class SeqRanges
{
    public const int MaxRanges = 4096;

    private readonly List<(long From, long To)> _ranges = [];

    public int Count => _ranges.Count;

    /// <summary>Ranges forgotten to stay within <see cref="MaxRanges"/>.</summary>
    public long Forgotten { get; private set; }

    /// <summary>Adds the numbers <paramref name="from"/> to <paramref name="to"/> (inclusive); they lie above every
    /// number added before (a stream only skips forward).</summary>
    public void AddAbove(long from, long to)
    {
        if (to < from)
        {
            return;
        }

        if (_ranges.Count > 0 && _ranges[^1].To + 1 >= from)
        {
            _ranges[^1] = (_ranges[^1].From, Math.Max(to, _ranges[^1].To));
        }
        else
        {
            _ranges.Add((from, to));
        }

        if (_ranges.Count > MaxRanges)
        {
            _ranges.RemoveAt(0);
            Forgotten++;
        }
    }

    public bool Contains(long seq) => IndexOf(seq) >= 0;

    /// <summary>Takes <paramref name="seq"/> out (it was delivered); false when it was not in the set.</summary>
    public bool Remove(long seq)
    {
        var i = IndexOf(seq);
        if (i < 0)
        {
            return false;
        }

        var (from, to) = _ranges[i];
        if (from == to)
        {
            _ranges.RemoveAt(i);
        }
        else if (seq == from)
        {
            _ranges[i] = (from + 1, to);
        }
        else if (seq == to)
        {
            _ranges[i] = (from, to - 1);
        }
        else
        {
            _ranges[i] = (from, seq - 1);
            _ranges.Insert(i + 1, (seq + 1, to));
            if (_ranges.Count > MaxRanges)
            {
                _ranges.RemoveAt(0);
                Forgotten++;
            }
        }

        return true;
    }

    private int IndexOf(long seq)
    {
        int lo = 0, hi = _ranges.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var (from, to) = _ranges[mid];
            if (seq < from)
            {
                hi = mid - 1;
            }
            else if (seq > to)
            {
                lo = mid + 1;
            }
            else
            {
                return mid;
            }
        }

        return -1;
    }
}
