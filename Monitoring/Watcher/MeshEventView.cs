namespace Mesh.Monitoring.Watcher;

/// <summary>Something that happened in the mesh (a peer came, left or failed; a link went down or came back; etcd
/// or InfluxDB was lost), newest first. <paramref name="Kind"/> is one of <see cref="MeshEventKinds"/>.</summary>
public sealed record MeshEventView(long Time, string Text, string Kind = MeshEventKinds.Monitor);

/// <summary>The kinds of events, as tagged in InfluxDB (<c>mesh_events</c>: Grafana's annotations select on them).</summary>
public static class MeshEventKinds
{
    public const string Monitor = "monitor";
    public const string PeerOnline = "peer_online";
    public const string PeerLeft = "peer_left";
    public const string PeerUnsigned = "peer_unsigned";
    public const string PeerDeleted = "peer_deleted";
    public const string LeaseExpired = "lease_expired";
    public const string LinkDown = "link_down";
    public const string LinkUp = "link_up";
    public const string Group = "group";
    public const string EtcdHealth = "etcd_health";
    public const string EtcdLeader = "etcd_leader";
    public const string EtcdSpace = "etcd_space";
    public const string Source = "source";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
        { Monitor, PeerOnline, PeerLeft, PeerUnsigned, PeerDeleted, LeaseExpired, LinkDown, LinkUp, Group, EtcdHealth, EtcdLeader, EtcdSpace, Source };
}
