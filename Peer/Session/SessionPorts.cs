using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Coordinator.Registry;
using Mesh.Peer.Configuration;
using Mesh.Peer.Identity;
using Mesh.Peer.Node;
using Mesh.Peer.Protocol;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary>Everything a session talks to outside itself: etcd's stores, presence and watches, the node (made with the
/// session's callbacks), and the clock. Real ones come from <see cref="Of"/>; tests pass in-memory twins that pass the
/// same contract tests.</summary>
internal sealed record SessionPorts(
    IEtcdInfo Etcd,
    IGroupLogStore LogStore,
    IMemberDirectory Directory,
    IPresence Presence,
    IWatches Watches,
    IHistoryStore History,
    ITrimClaims TrimClaims,
    Func<NodeCallbacks, IMeshNode> Node,
    TimeProvider Time)
{
    /// <summary>The real ports: etcd at <paramref name="etcd"/>, a NetMQ node with this peer's certificate, the system clock.</summary>
    public static SessionPorts Of(EtcdConnection etcd, MeshOptions options, PeerIdentity identity, ILoggerFactory logs) => new(
        etcd,
        new GroupLogStore(etcd),
        new GroupDirectory(etcd),
        new PeerRegistration(etcd, options.LeaseTtl, logs.CreateLogger("registration")),
        new EtcdWatches(etcd, logs.CreateLogger("watch")),
        new EtcdHistoryStore(etcd, logs.CreateLogger("history")),
        new TrimClaims(etcd),
        callbacks => new MeshNode(identity.Certificate, identity.PeerId, callbacks.OnFrame, callbacks.OnLinkUp, callbacks.OnLinkTrouble,
            logs.CreateLogger("node"), EnvelopeCodec.MaxEncodedBytes + 256, options.HighWaterMark),
        TimeProvider.System);
}
