namespace Mesh.Coordinator.Etcd;

/// <summary>Which etcd the session talks to and where it stands: reachable, its cluster, its current revision (etcd, or
/// an in-memory twin in tests; both pass the same contract tests).</summary>
public interface IEtcdInfo
{
    /// <summary>The endpoints, as said in messages to the user.</summary>
    string Describe { get; }

    /// <summary>The id of the cluster last answered from (16 hex digits; "" before the first answer).</summary>
    string ClusterId { get; }

    /// <summary>Raised after every request with its method name, its duration, and whether it failed.</summary>
    event Action<string, TimeSpan, bool>? RequestCompleted;

    /// <summary>The current revision; fails with a one-line <see cref="EtcdUnavailableException"/> when etcd does not
    /// answer within <paramref name="timeout"/>.</summary>
    Task<long> CheckReachableAsync(TimeSpan timeout, CancellationToken ct);

    /// <summary>The current revision (and <see cref="ClusterId"/>), from one cheap read.</summary>
    Task<long> CurrentRevisionAsync(CancellationToken ct);
}
