namespace Mesh.Coordinator.History;

/// <summary>Entries cut into appends etcd takes: at most <see cref="EtcdHistoryStore.MaxOpsPerTransaction"/> entries and
/// <see cref="EtcdHistoryStore.MaxBytesPerTransaction"/> bytes each (an entry larger than that goes alone).</summary>
public static class HistoryBatches
{
    public static IEnumerable<IReadOnlyList<HistoryEntry>> Of(IReadOnlyList<HistoryEntry> entries,
        int maxCount = EtcdHistoryStore.MaxOpsPerTransaction, long maxBytes = EtcdHistoryStore.MaxBytesPerTransaction)
    {
        var batch = new List<HistoryEntry>();
        long bytes = 0;
        foreach (var entry in entries)
        {
            var size = entry.Name.Length + entry.Value.Length;
            if (batch.Count > 0 && (batch.Count == maxCount || bytes + size > maxBytes))
            {
                yield return batch;
                batch = [];
                bytes = 0;
            }

            batch.Add(entry);
            bytes += size;
        }

        if (batch.Count > 0)
        {
            yield return batch;
        }
    }
}
