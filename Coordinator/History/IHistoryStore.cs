namespace Mesh.Coordinator.History;

/// <summary>Durable, append-only history of groups.</summary>
/// <remarks>A value larger than any message (<see cref="EtcdHistoryStore.MaxValueBytes"/>) is an etcd writer's junk:
/// reads hand its entry over with the value left out (empty), so that it costs neither memory nor disk while its name
/// still counts among what the store holds, and count it in <see cref="ValuesLeftOut"/>.</remarks>
public interface IHistoryStore
{
    /// <summary>How many values reads have left out so far for their size.</summary>
    long ValuesLeftOut { get; }

    /// <summary>Writes entries that do not exist yet; an entry already stored is left as it is (create-only), so a
    /// retried append never duplicates.</summary>
    Task AppendAsync(IReadOnlyList<HistoryEntry> entries, CancellationToken ct);

    /// <summary>The one write that changes what is stored: replaces <paramref name="current"/> (a key as read, its
    /// <see cref="HistoryEntry.Revision"/> the revision it was last written at) by <paramref name="replacement"/>, in
    /// one transaction, only if the key is still as read (the same key is written over; another one is written and
    /// <paramref name="current"/> deleted). False when the key changed or went meanwhile: read it again. What a
    /// delete's tombstone takes (see the peer's <c>Tombstone</c>).</summary>
    Task<bool> ReplaceAsync(HistoryEntry current, HistoryEntry replacement, CancellationToken ct);

    /// <summary>Reads a group's whole history in key order, page by page, as of one revision; returns that revision
    /// so a watch can continue right after it. When that revision is compacted away mid-read, the read goes on at a
    /// later one and ends with what was written meanwhile (which may repeat entries already handed over).</summary>
    Task<long> ReadAsync(string group, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct);

    /// <summary>Reads a group's whole history in key order, each entry once, page by page, as of one revision while
    /// etcd keeps it; when that revision is compacted away mid-read, the read goes on after the last entry handed over at
    /// a later one. Every entry stored when the read began (and not deleted meanwhile) is handed over; one written
    /// during the read is handed over only if it sorts after where the read had got to. What a printout of the history
    /// wants: nothing twice, nothing out of order. Returns the revision the last page was read at.</summary>
    Task<long> ReadInKeyOrderAsync(string group, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct);

    /// <summary>Reads only the entries written after <paramref name="afterRevision"/>, in the order they were written
    /// (by key within one revision), page by page, as of one revision; returns that revision. A compaction mid-read
    /// moves the read to a later revision without losing or repeating an entry.</summary>
    Task<long> ReadSinceAsync(string group, long afterRevision, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct);

    /// <summary>Like <see cref="ReadSinceAsync"/>, names only: what a reader that holds most of the history needs to
    /// find the few entries it lacks (fetched with <see cref="GetAsync"/>).</summary>
    Task<long> ReadNamesSinceAsync(string group, long afterRevision, Func<IReadOnlyList<string>, ValueTask> onPage, CancellationToken ct);

    /// <summary>The entries of these names that exist, in the order given.</summary>
    Task<IReadOnlyList<HistoryEntry>> GetAsync(string group, IReadOnlyList<string> names, CancellationToken ct);

    /// <summary>How many entries the group's history held at <paramref name="revision"/> (0: now), of those named
    /// <paramref name="from"/> or later when given; null when that revision is compacted away.</summary>
    Task<long?> CountAsync(string group, long revision, CancellationToken ct, string? from = null);

    /// <summary>Deletes every entry whose name sorts before <paramref name="bound"/>, a bounded batch per request
    /// (a million keys never stall etcd in one); returns how many were deleted.</summary>
    Task<long> DeleteBeforeAsync(string group, string bound, CancellationToken ct);

    /// <summary>How many entries' names sort before <paramref name="bound"/> now.</summary>
    Task<long> CountBeforeAsync(string group, string bound, CancellationToken ct);
}
