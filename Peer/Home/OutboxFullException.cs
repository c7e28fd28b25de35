namespace Mesh.Peer.Home;

/// <summary>The outbox holds <see cref="Outbox.MaxBytes"/> of sent messages that etcd has not taken yet.</summary>
public sealed class OutboxFullException(long maxBytes)
    : IOException($"{maxBytes / (1024 * 1024)} MiB of sent messages that etcd has not taken yet");
