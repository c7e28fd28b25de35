namespace Mesh.Peer.Session;

/// <summary>A reader of the session's events that takes them on the session's loop, at the end of each batch of work,
/// instead of waking a thread of its own for them: what the headless mode writes to stdout.</summary>
/// <remarks>Called on the loop only (and, once the loop has stopped, by whoever ends the events): it must not wait for
/// anything, neither the disk nor a reader.</remarks>
public interface IEventSink
{
    /// <summary>One event, in order.</summary>
    void Take(MeshEvent e);

    /// <summary>The batch ends: what was taken since the last flush leaves as one piece.</summary>
    void Flush();

    /// <summary>No more events come.</summary>
    void Complete();
}
