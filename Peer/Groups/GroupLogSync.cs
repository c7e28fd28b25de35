namespace Mesh.Peer.Groups;

/// <summary>Reconciles this home's copy of a group log with what etcd holds: the copy is trusted for what it has (it
/// was checked entry by entry as it grew), etcd's entries after it are checked and applied, and whatever etcd lost or
/// holds altered is named so that it can be put back.</summary>
public static class GroupLogSync
{
    /// <summary>The outcome of a merge.</summary>
    /// <param name="Log">The log to act on; null when there is none (no copy, and etcd's genesis is invalid or absent).</param>
    /// <param name="Errors">One line for each thing refused (a rewritten genesis, a bad entry).</param>
    /// <param name="Repairs">Indexes whose record etcd should get back from <paramref name="Log"/>.</param>
    public sealed record Result(GroupLog? Log, IReadOnlyList<string> Errors, IReadOnlyList<long> Repairs);

    /// <param name="group">The group.</param>
    /// <param name="copy">This home's copy, or null.</param>
    /// <param name="genesis">etcd's directory entry, or null when there is none.</param>
    /// <param name="entries">etcd's later entries, by index (any order).</param>
    public static Result Merge(string group, GroupLog? copy, byte[]? genesis, IReadOnlyList<(long Index, byte[] Value)> entries)
    {
        var errors = new List<string>();
        var repairs = new List<long>();
        var log = copy;
        if (log is null)
        {
            if (genesis is null)
            {
                return new Result(null, errors, repairs);
            }

            log = GroupLog.TryStart(group, genesis, out var why);
            if (log is null)
            {
                errors.Add($"group '{group}': its directory entry in etcd is not a valid genesis ({why})");
                return new Result(null, errors, repairs);
            }
        }
        else if (genesis is null || !genesis.AsSpan().SequenceEqual(log.RecordAt(0)))
        {
            errors.Add(genesis is null
                ? $"group '{group}': its genesis is gone from etcd; putting back this home's copy"
                : $"group '{group}': its genesis in etcd is not the one this home joined (rewritten); keeping this home's and putting it back");
            repairs.Add(0);
        }

        var byIndex = new SortedDictionary<long, byte[]>();
        foreach (var (index, value) in entries)
        {
            byIndex[index] = value;
        }

        for (long i = 1; i <= log.Head; i++)
        {
            if (!byIndex.TryGetValue(i, out var value) || !value.AsSpan().SequenceEqual(log.RecordAt(i)))
            {
                if (value is not null)
                {
                    errors.Add($"group '{group}': entry {i} of the group log was rewritten in etcd; keeping this home's and putting it back");
                }

                repairs.Add(i);
            }
        }

        if (repairs.Count > 1 && errors.Count == 0)
        {
            errors.Add($"group '{group}': etcd lost {repairs.Count} entries of the group log (restored from an older state?); putting them back");
        }

        foreach (var (index, value) in byIndex.Where(e => e.Key > log.Head))
        {
            if (index != log.Head + 1)
            {
                break;
            }

            if (!log.TryApply(value, out var why))
            {
                errors.Add($"group '{group}': entry {index} of the group log rejected ({why}); ignoring it and what follows");
                break;
            }
        }

        return new Result(log, errors, repairs);
    }
}
