using Mesh.Coordinator.History;

namespace Mesh.Peer.Home;

/// <summary>Where a sender's bursts are kept before they are published: the <see cref="HomeWriter"/>'s thread, or the
/// <see cref="Outbox"/> itself, on the caller's thread.</summary>
public interface IOutboxAppender
{
    /// <summary>Appends <paramref name="entries"/> to the outbox, all or none, then runs <paramref name="done"/> on the
    /// caller's loop: with null once they are in the outbox, else with why not (an <see cref="IOException"/>, an
    /// <see cref="OutboxFullException"/>). Bursts are done in the order they were handed over.</summary>
    void AppendOutbox(IReadOnlyList<HistoryEntry> entries, Action<Exception?> done);
}
