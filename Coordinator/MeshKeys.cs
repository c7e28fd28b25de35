using System.Text;

namespace Mesh.Coordinator;

/// <summary>The etcd key schema of Mesh: one place that knows where everything lives.</summary>
/// <remarks>
/// Groups, members and history live under separate prefixes so that listing groups or members never walks a
/// group's (possibly huge) history.
/// </remarks>
public static class MeshKeys
{
    public const string Root = "/mesh/";
    public const string PeersPrefix = "/mesh/peers/";
    public const string GroupsPrefix = "/mesh/groups/";

    public const string MembersRoot = "/mesh/members/";
    public const string HistoryRoot = "/mesh/history/";
    public const string LinksPrefix = "/mesh/links/";
    public const string LeavingPrefix = "/mesh/leaving/";

    public static string Peer(string peerId) => PeersPrefix + peerId;

    /// <summary>The state of a peer's links to the members it follows (leased; for mesh monitor).</summary>
    public static string Links(string peerId) => LinksPrefix + peerId;

    /// <summary>Written (leased) just before a peer revokes its lease, so that a watcher tells a clean exit from
    /// a lease that expired.</summary>
    public static string Leaving(string peerId) => LeavingPrefix + peerId;

    /// <summary>The group's directory entry (durable metadata).</summary>
    public static string Group(string group) => GroupsPrefix + group;

    public static string MembersPrefix(string group) => $"{MembersRoot}{group}/";

    public static string Member(string group, string peerId) => MembersPrefix(group) + peerId;

    public static string HistoryPrefix(string group) => $"{HistoryRoot}{group}/";

    /// <summary>Who last trimmed a group's history to its retention, and when: a hint that keeps members from all
    /// trimming at once, never an authority (what is deleted follows from the signed policy alone).</summary>
    public static string TrimClaim(string group) => $"/mesh/trim/{group}";

    /// <summary>The group log's entries after the genesis (which is the directory entry, <see cref="Group"/>).</summary>
    public static string LogPrefix(string group) => $"/mesh/log/{group}/";

    /// <summary>Where entry <paramref name="index"/> of the group log lives; index 0 is the genesis.</summary>
    public static string LogEntry(string group, long index) =>
        index == 0 ? Group(group) : LogPrefix(group) + index.ToString("D10", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Every key grant for one member of a group (one per epoch).</summary>
    public static string GrantsPrefix(string group, string peerId) => $"/mesh/keys/{group}/{peerId}/";

    /// <summary>An epoch's group key wrapped to one member's public key (only that member can unwrap it), signed.</summary>
    public static string Grant(string group, string peerId, long epoch) =>
        GrantsPrefix(group, peerId) + epoch.ToString("D10", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A signed invite record (leased for the invite's lifetime); no key in it.</summary>
    public static string Invite(string group, string inviteId) => $"/mesh/invites/{group}/{inviteId}";

    /// <summary>Admission requests of a private group, written by invitees as they redeem an invite.</summary>
    public static string AdmitPrefix(string group) => $"/mesh/admit/{group}/";

    /// <summary>Where members that lack an epoch's key ask the others for it (signed by the asking member).</summary>
    public static string KeyRequestPrefix(string group) => $"/mesh/keyreq/{group}/";

    public static string KeyRequest(string group, string peerId) => KeyRequestPrefix(group) + peerId;

    public static string Admit(string group, string peerId) => AdmitPrefix(group) + peerId;

    /// <summary>The direct conversations a peer is in: one notice per conversation (its signed genesis), written by the
    /// one who opened it; the peer checks each against the logs of the groups it is in before it acts on it.</summary>
    public static string DirectPrefix(string peerId) => $"/mesh/direct/{peerId}/";

    public static string DirectNotice(string peerId, string group) => DirectPrefix(peerId) + group;

    /// <summary>The end of the range that holds every key starting with <paramref name="prefix"/>.</summary>
    public static byte[] RangeEnd(string prefix)
    {
        var end = Encoding.UTF8.GetBytes(prefix);
        for (var i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xff)
            {
                end[i]++;
                return end[..(i + 1)];
            }
        }

        return [0];
    }
}
