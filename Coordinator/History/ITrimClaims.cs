namespace Mesh.Coordinator.History;

/// <summary>The claim to trim a group's history, taken by one member per interval with a compare-and-swap (etcd, or an
/// in-memory twin in tests; both pass the same contract tests).</summary>
public interface ITrimClaims
{
    /// <summary>The claim's modification revision (0: no one has claimed yet).</summary>
    Task<long> ReadAsync(string group, CancellationToken ct);

    /// <summary>Takes the claim if it is still at <paramref name="seenRevision"/> (any revision when
    /// <paramref name="force"/>); false when another member took it first.</summary>
    Task<bool> TryTakeAsync(string group, long seenRevision, string by, bool force, CancellationToken ct);
}
