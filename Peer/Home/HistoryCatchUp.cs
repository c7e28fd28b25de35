using Mesh.Coordinator.History;

namespace Mesh.Peer.Home;

/// <summary>How a peer catches up on a group's history at join, from its local copy and what etcd says now.</summary>
/// <remarks>
/// A copy complete up to revision R of cluster C is extended by what etcd wrote after R, if etcd is still C and has
/// reached R. Otherwise etcd's history is not the one the copy followed: it was restored from an older snapshot (its
/// revision went back) or replaced by another cluster. Then everything is read again, and entries the copy holds that
/// etcd lost are written back (they are sealed and signed: every reader checks them as it would any other).
/// </remarks>
public static class HistoryCatchUp
{
    /// <param name="copy">The local copy.</param>
    /// <param name="cluster">The id of the cluster etcd answers for now.</param>
    /// <param name="etcdRevision">etcd's revision now.</param>
    /// <param name="witnessHeld">Whether etcd still holds the last entry the copy took (its history was not rolled
    /// back past it, even if its revision has since moved on beyond the copy's).</param>
    public static CatchUpPlan Plan(LocalCopy copy, string cluster, long etcdRevision, bool witnessHeld = true)
    {
        if (copy.Revision == 0)
        {
            return new CatchUpPlan(CatchUpKind.ReadAll, null);
        }

        if (copy.Cluster.Length > 0 && copy.Cluster != "-" && cluster.Length > 0 && copy.Cluster != cluster)
        {
            return new CatchUpPlan(CatchUpKind.Reconcile, $"etcd is another cluster ({cluster}) than the one this home's copy came from ({copy.Cluster})");
        }

        if (etcdRevision < copy.Revision)
        {
            return new CatchUpPlan(CatchUpKind.Reconcile, $"etcd's revision went back from {copy.Revision} to {etcdRevision} (restored from an older snapshot?)");
        }

        if (!witnessHeld)
        {
            return new CatchUpPlan(CatchUpKind.Reconcile, $"etcd no longer holds the last entry this home took from it ({copy.Witness}): its data went back (restored from an older snapshot?)");
        }

        return new CatchUpPlan(CatchUpKind.ReadSince, null);
    }

    /// <summary>Both lists in one, in key order, each name once (the local copy's entry kept, unless the other is its
    /// tombstone).</summary>
    public static List<HistoryEntry> Merge(IReadOnlyList<HistoryEntry> local, IReadOnlyList<HistoryEntry> fetched)
    {
        // The common cases cost one pass: a first join (all fetched, in key order) and a restart with nothing new.
        if (local.Count == 0 && IsStrictlyAscending(fetched))
        {
            return [.. fetched];
        }

        if (fetched.Count == 0 && IsStrictlyAscending(local))
        {
            return [.. local];
        }

        var byName = new Dictionary<string, HistoryEntry>(local.Count, StringComparer.Ordinal);
        foreach (var entry in local.Concat(fetched))
        {
            // The local copy's entry is kept, unless the other is its tombstone: a delete never comes undone.
            byName[entry.Name] = byName.TryGetValue(entry.Name, out var kept) ? Protocol.Tombstone.Prefer(kept, entry) : entry;
        }

        var merged = byName.Values.ToList();
        merged.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return merged;
    }

    private static bool IsStrictlyAscending(IReadOnlyList<HistoryEntry> entries)
    {
        for (var i = 1; i < entries.Count; i++)
        {
            if (string.CompareOrdinal(entries[i - 1].Name, entries[i].Name) >= 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>What the local copy holds and etcd does not (any more).</summary>
    public static List<HistoryEntry> MissingFromEtcd(IReadOnlyList<HistoryEntry> local, IReadOnlyCollection<HistoryEntry> etcd)
    {
        var present = new HashSet<string>(etcd.Select(e => e.Name), StringComparer.Ordinal);
        return local.Where(e => !present.Contains(e.Name)).ToList();
    }
}
