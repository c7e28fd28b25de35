namespace Mesh.Coordinator.Groups;

/// <summary>Writes group log entries at their index, once: the port the committing side of a peer uses (etcd, or an
/// in-memory twin in tests; both pass the same contract tests).</summary>
public interface IGroupLogAppender
{
    /// <summary>Writes the entry if the index still holds what <see cref="LogAppend.Occupant"/> says; otherwise writes
    /// nothing and answers what the index holds now.</summary>
    Task<AppendResult> TryAppendAsync(LogAppend append, CancellationToken ct);

    /// <summary>Writes a key as it is (key grants beyond one transaction's room).</summary>
    Task PutAsync(string key, byte[] value, CancellationToken ct);

    /// <summary>Deletes a key (admission requests that were served).</summary>
    Task DeleteAsync(string key, CancellationToken ct);
}
