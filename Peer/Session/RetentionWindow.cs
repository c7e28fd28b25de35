using System.Globalization;
using Mesh.Peer.Groups;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary>Where a group's kept history begins, by its signed <see cref="Retention"/>: history keys sorting before
/// <see cref="ViewBound"/> are beyond the policy (not shown), those before <see cref="DeleteBound"/> may be deleted.</summary>
/// <remarks>
/// A count is counted over the messages this peer has opened and checked (<see cref="Offer"/>), never over etcd's
/// keys: a record an etcd writer puts under the history prefix cannot push a member's message out of the window.
/// A message stamped more than <see cref="CountAheadMs"/> ahead of this peer's clock is not counted either: no sender can
/// push the others' messages out with stamps from the future (and messages whose order such a stamp dragged ahead count
/// at the next load, when their time has come: a count keeps more meanwhile, never less).
/// An age is measured on this peer's clock for what it shows; for what it deletes, on the earlier of its clock and the
/// newest message another member sent, so that a member whose clock runs ahead deletes no message the group keeps
/// (at worst it deletes less). A peer that has seen only part of the history finds an older bound: it deletes less.
/// </remarks>
internal sealed class RetentionWindow(Retention policy)
{
    private readonly PriorityQueue<Key, Key> _newest = new(KeyOrder.Instance);
    private readonly Dictionary<string, string> _peers = new(StringComparer.Ordinal);
    private long _newestFromOthersMs;

    /// <summary>How far ahead of this peer's clock a message may be stamped and still count against a count.</summary>
    public const long CountAheadMs = 60_000;

    public Retention Policy { get; } = policy;

    /// <summary>Messages counted (at most the policy's count).</summary>
    public int Counted => _newest.Count;

    /// <summary>Takes note of a checked message; false when it already lies beyond the policy's count (older than
    /// the newest it keeps).</summary>
    public bool Offer(Envelope message, bool fromOther, long nowMs)
    {
        if (fromOther && message.Order <= nowMs + HybridClock.MaxAheadMs)
        {
            _newestFromOthersMs = Math.Max(_newestFromOthersMs, message.Order);
        }

        if (Policy.MaxCount is not { } max || message.Order > nowMs + CountAheadMs)
        {
            return true;
        }

        if (!_peers.TryGetValue(message.PeerId, out var peer))
        {
            _peers[message.PeerId] = peer = message.PeerId;
        }

        var key = new Key(message.Order, peer, message.Epoch, message.Seq);
        if (_newest.Count < max)
        {
            _newest.Enqueue(key, key);
            return true;
        }

        if (KeyOrder.Instance.Compare(key, _newest.Peek()) <= 0)
        {
            return false;
        }

        _newest.EnqueueDequeue(key, key);
        return true;
    }

    /// <summary>History keys sorting before this are beyond the policy as shown now (null: everything is kept).</summary>
    public string? ViewBound(long nowMs) => Later(AgeBound(nowMs), CountBound());

    /// <summary>History keys sorting before this may be deleted from etcd and local copies (null: none).</summary>
    public string? DeleteBound(long nowMs) =>
        Later(AgeBound(_newestFromOthersMs > 0 ? Math.Min(nowMs, _newestFromOthersMs) : nowMs), CountBound());

    /// <summary>Whether a history key lies within what the policy keeps now.</summary>
    public bool Keeps(string historyName, long nowMs) => ViewBound(nowMs) is not { } bound || string.CompareOrdinal(historyName, bound) >= 0;

    private string? AgeBound(long nowMs) =>
        Policy.MaxAge is { } age && nowMs - (long)age.TotalMilliseconds is var from and > 0
            ? from.ToString("D13", CultureInfo.InvariantCulture)
            : null;

    private string? CountBound() =>
        Policy.MaxCount is { } max && _newest.Count >= max && _newest.TryPeek(out var oldest, out _)
            ? new Envelope("", oldest.PeerId, oldest.Epoch, oldest.Seq, "", oldest.Order, "", oldest.Order).HistoryName
            : null;

    /// <summary>The later of two bounds (null: none), the one that keeps less.</summary>
    public static string? Later(string? a, string? b) =>
        a is null ? b : b is null ? a : string.CompareOrdinal(a, b) >= 0 ? a : b;

    /// <summary>A message's place in history order: the fields of its history key, compared as the key compares.</summary>
    private readonly record struct Key(long Order, string PeerId, long Epoch, long Seq);

    private sealed class KeyOrder : IComparer<Key>
    {
        public static readonly KeyOrder Instance = new();

        public int Compare(Key a, Key b)
        {
            var c = a.Order.CompareTo(b.Order);
            if (c == 0)
            {
                c = string.CompareOrdinal(a.PeerId, b.PeerId);
            }

            if (c == 0)
            {
                c = a.Epoch.CompareTo(b.Epoch);
            }

            return c != 0 ? c : a.Seq.CompareTo(b.Seq);
        }
    }
}
