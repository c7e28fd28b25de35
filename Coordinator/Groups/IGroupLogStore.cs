using Mesh.Coordinator.Etcd;

namespace Mesh.Coordinator.Groups;

/// <summary>The group logs and the keys that go with them (key grants, invites, admission requests, key asks): the port
/// the session reads and writes them through (etcd, or an in-memory twin in tests; both pass the same contract tests).</summary>
public interface IGroupLogStore : IGroupLogAppender
{
    /// <summary>The genesis (null when the group does not exist), the later entries by index, and the revision they are
    /// as of; etcd compacting during the read never fails it. A value larger than any record comes back empty.</summary>
    Task<(byte[]? Genesis, IReadOnlyList<(long Index, byte[] Value)> Entries, long Revision)> ReadAsync(string group, CancellationToken ct);

    /// <summary>The log's entries after <paramref name="after"/> (up to 1,000), as changes with their revisions, in index
    /// order.</summary>
    Task<IReadOnlyList<KeyChange>> ReadAfterAsync(string group, long after, CancellationToken ct);

    /// <summary>Writes entry <paramref name="index"/> create-only, with <paramref name="alongside"/> in the same
    /// transaction; true when this call wrote it.</summary>
    Task<bool> TryAppendAsync(string group, long index, byte[] record, IReadOnlyList<(string Key, byte[] Value)> alongside, CancellationToken ct);

    /// <summary>Puts back an entry that etcd lost or holds altered.</summary>
    Task RepairAsync(string group, long index, byte[] record, CancellationToken ct);

    /// <summary>The value of a key and its modification revision (null when absent).</summary>
    Task<(byte[] Value, long ModRevision)?> GetAsync(string key, CancellationToken ct);

    /// <summary>Every value under a prefix in key order (at most <paramref name="limit"/> keys), as of one revision; a
    /// value larger than any record comes back empty.</summary>
    Task<(IReadOnlyList<(string Key, byte[] Value)> Values, long Revision)> ListAsync(string prefix, int limit, CancellationToken ct);

    /// <summary>Writes <paramref name="value"/> create-only under a lease of <paramref name="ttl"/> (an invite's
    /// record, gone when it expires); false when the key exists already.</summary>
    Task<bool> CreateLeasedAsync(string key, byte[] value, TimeSpan ttl, CancellationToken ct);

    /// <summary>Deletes an invite if it is still the one read at <paramref name="inviteRevision"/> and writes the
    /// admission request, in one transaction; false when someone redeemed it first.</summary>
    Task<bool> RedeemAsync(string inviteKey, long inviteRevision, string requestKey, byte[] request, CancellationToken ct);
}
