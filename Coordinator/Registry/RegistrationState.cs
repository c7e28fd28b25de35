namespace Mesh.Coordinator.Registry;

/// <summary>Where this peer's presence in etcd stands.</summary>
public enum RegistrationState
{
    /// <summary>Registered under a live lease.</summary>
    Registered,

    /// <summary>Keep-alives are failing; the lease may still be alive in etcd.</summary>
    Unreachable,

    /// <summary>The lease expired (etcd forgot this peer); registering again.</summary>
    Lost,

    /// <summary>Registered again under a new lease after a loss.</summary>
    Restored,
}
