using Mesh.Coordinator.History;
using Mesh.Peer.Home;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary>Sees that a delete takes the text for good. Every member takes it out of its local copy (after the copy
/// has the delete itself); the one who deleted takes it out of etcd, and so does any member that reads the text back
/// from etcd at a join (a restore from an older snapshot, a put-back from an older copy): a delete never comes undone.
/// Session loop only: the work itself is done by the home's writer thread and <see cref="TombstoneWriter"/>.</summary>
internal sealed class Erasures(SessionParts parts, HomeWriter home, TombstoneWriter etcd)
{
    /// <summary>A delete was delivered (it is one the group accepts).</summary>
    /// <param name="mine">Sent by this run: it takes the text out of etcd too.</param>
    public void OnDelete(GroupState state, DeleteEvent delete, bool mine)
    {
        if (!state.HistoryLoaded)
        {
            // While the history loads, the copy is rewritten after the load's own writes (see OnLoaded).
            state.HeldErasures.Add((delete.Target, delete.Id, mine));
            return;
        }

        // The copy is rewritten at most once a second for however many deletes came (a member deleting without end
        // costs every other member one rewrite a second, not one a delete).
        state.CopyErasures.Add((delete.Target, delete.Id));
        if (mine)
        {
            _ = etcd.EraseAsync(state.Name, delete.Target, delete.Id);
        }
    }

    /// <summary>The copy is rewritten for the deletes of the last second or so: every this long at most.</summary>
    public static readonly TimeSpan CopyEvery = TimeSpan.FromSeconds(1);

    private long _copiedAtMs = long.MinValue / 2;

    /// <summary>On the session's tick: the live deletes taken since the last time go to the copies, one rewrite per
    /// group.</summary>
    public void OnTick(IEnumerable<GroupState> groups, long nowMs)
    {
        if (nowMs - _copiedAtMs < CopyEvery.TotalMilliseconds)
        {
            return;
        }

        _copiedAtMs = nowMs;
        var flushed = false;
        foreach (var state in groups.Where(g => g.CopyErasures.Count > 0))
        {
            if (!flushed)
            {
                // The deletes' own keys go to the copy first: a tombstone is its delete's stored value.
                parts.Sweeps.FlushCopy();
                flushed = true;
            }

            home.EraseInCopy(state.Name, [.. state.CopyErasures]);
            state.CopyErasures.Clear();
        }
    }

    /// <summary>The history loaded at join has been shown and the copy's writes handed over: the deletes met meanwhile
    /// are applied to the copy, and to etcd where <paramref name="fromEtcd"/> (what was read from etcd) still holds a
    /// target's text.</summary>
    public void OnLoaded(GroupState state, IReadOnlyList<HistoryEntry> fromEtcd)
    {
        if (state.HeldErasures.Count == 0)
        {
            return;
        }

        var held = state.HeldErasures.ToList();
        state.HeldErasures.Clear();
        home.EraseInCopy(state.Name, held.ConvertAll(h => (h.Target, h.Delete)));
        var textInEtcd = TargetsHeld(fromEtcd, held.Select(h => h.Target));
        foreach (var (target, delete, mine) in held)
        {
            if (mine || textInEtcd.Contains(target))
            {
                _ = etcd.EraseAsync(state.Name, target, delete);
            }
        }
    }

    private static readonly Comparer<(long Seq, string Id)> BySeq = Comparer<(long Seq, string Id)>.Create(static (a, b) => a.Seq.CompareTo(b.Seq));

    /// <summary>Which of <paramref name="targets"/> some key of <paramref name="keys"/> holds as text (not as its
    /// tombstone): one pass over the keys, whatever the number of targets.</summary>
    public static HashSet<string> TargetsHeld(IReadOnlyList<HistoryEntry> keys, IEnumerable<string> targets)
    {
        var byRun = new Dictionary<(string, long), List<(long Seq, string Id)>>();
        foreach (var id in targets.Where(KindText.IsId))
        {
            var (peerId, epoch, seq) = KindText.PartsOf(id);
            if (!byRun.TryGetValue((peerId, epoch), out var list))
            {
                byRun[(peerId, epoch)] = list = [];
            }

            list.Add((seq, id));
        }

        foreach (var list in byRun.Values)
        {
            list.Sort(BySeq);
        }

        var held = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (!HistoryKey.TryParse(key.Name, out var peerId, out var epoch, out var first, out var last) || !byRun.TryGetValue((peerId, epoch), out var list))
            {
                continue;
            }

            if (first == last && Tombstone.LooksLike(key))
            {
                continue;
            }

            // The targets of this run numbered first to last: found by halving (a run may have many deleted).
            var at = list.BinarySearch((first, ""), BySeq);
            for (var i = at < 0 ? ~at : at; i < list.Count && list[i].Seq <= last; i++)
            {
                held.Add(list[i].Id);
            }
        }

        return held;
    }
}
