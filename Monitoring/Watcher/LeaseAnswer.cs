namespace Mesh.Monitoring.Watcher;

/// <summary>What etcd said of a lease asked about in a <see cref="LeaseCheck"/>.</summary>
public enum LeaseAnswer
{
    /// <summary>etcd no longer knows it: it expired (or was revoked), and the keys under it went with it.</summary>
    Gone,

    /// <summary>It still lives: what deleted the key was not its expiry.</summary>
    Alive,

    /// <summary>etcd did not answer in time, or failed: the monitor cannot tell.</summary>
    Unknown,
}
