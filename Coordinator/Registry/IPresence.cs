namespace Mesh.Coordinator.Registry;

/// <summary>This peer's presence: keys that live while the peer does, under one lease kept alive in the background
/// and written again when it was lost. The port the session registers through (etcd, or an in-memory twin in tests).</summary>
public interface IPresence : IAsyncDisposable
{
    /// <summary>Raised from the keep-alive loop whenever the registration changes state.</summary>
    event Action<RegistrationState>? StateChanged;

    /// <summary>Raised from the keep-alive loop before each retry while etcd does not answer: the delay until it.</summary>
    event Action<TimeSpan>? Retrying;

    /// <summary>Raised each time etcd answers a keep-alive of the lease.</summary>
    event Action? Renewed;

    /// <summary>Grants the lease and writes <paramref name="key"/> under it; then keeps the lease alive.</summary>
    Task StartAsync(string key, byte[] value, CancellationToken ct);

    /// <summary>Adds (or replaces) a key that lives and dies with the lease.</summary>
    Task PutAsync(string key, byte[] value, CancellationToken ct);

    /// <summary>Removes a key of the presence.</summary>
    Task DeleteAsync(string key, CancellationToken ct);

    /// <summary>Ends the presence now: every key disappears at once (or, when etcd does not answer within
    /// <paramref name="timeout"/>, when the lease expires).</summary>
    Task RevokeAsync(TimeSpan timeout);
}
