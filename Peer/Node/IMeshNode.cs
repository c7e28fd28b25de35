namespace Mesh.Peer.Node;

/// <summary>Where frames leave: the node's PUB socket, or an in-memory twin in tests.</summary>
public interface IFramePublisher
{
    /// <summary>Sends <paramref name="frame"/> to every member subscribed to <paramref name="group"/>.</summary>
    void Publish(string group, byte[] frame);
}

/// <summary>What the session needs of its node: the loop it runs on, publishing, and which members to follow. The
/// node knows nothing of the session: it reports frames and link news through the callbacks it was made with
/// (<see cref="NodeCallbacks"/>).</summary>
public interface IMeshNode : IFramePublisher, IDisposable
{
    /// <summary>The node's loop as a scheduler: what runs on it owns the session's state.</summary>
    TaskScheduler Loop { get; }

    /// <summary>Whether the loop runs (started, not yet disposed).</summary>
    bool Running { get; }

    /// <summary>Whether the caller runs on the node's loop.</summary>
    bool OnLoop { get; }

    /// <summary>Starts listening; returns the endpoint other peers should connect to.</summary>
    string Start(string bind, string? advertise);

    /// <summary>Makes the node follow exactly these members.</summary>
    void SetLinks(IReadOnlyCollection<LinkSpec> links);
}

/// <summary>What a node reports, on its loop: a frame (member peer id, group, payload), a link that works, a link in
/// trouble (member peer id, whether a reconnection is being tried).</summary>
public sealed record NodeCallbacks(Action<string, string, byte[]> OnFrame, Action<string> OnLinkUp, Action<string, bool> OnLinkTrouble);
