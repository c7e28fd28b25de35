using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;

namespace Mesh.Peer.Session;

/// <summary>Honest waiting: while this peer waits to be admitted to a group, it follows who of the group's members is
/// online (their signed presence records), says when none is (only a member's running peer admits anyone), and says
/// when one comes. The members it files are the ones it links to once admitted. Session loop only.</summary>
internal sealed class AdmissionWait(SessionCore core, SessionParts parts, IMemberDirectory directory)
{
    /// <summary>This peer asked to be admitted to <paramref name="state"/>'s group: its online members are read and
    /// followed, and the wait is said in words that tell whether anyone is there to end it.</summary>
    public async Task StartAsync(GroupState state, bool invited, CancellationToken ct)
    {
        var group = state.Name;
        var (members, revision) = await directory.ListMembersAsync(group, ct);
        foreach (var member in members.Where(m => m.PeerId != core.PeerId))
        {
            parts.Presence.Sort(state, member);
        }

        state.MembersWatch ??= parts.Watches.Watch(MeshKeys.MembersPrefix(group), revision + 1, changes => new SessionInput.MembersChanged(group, changes),
            reread: async ct => new SessionInput.MembersListed(group, (await directory.ListMembersAsync(group, ct)).Members));
        var online = string.Join(", ", state.Members.Values.Select(m => state.Label(m.PeerId, m.Name)).Order(StringComparer.Ordinal));
        core.Emit(new WaitingEvent(group, online.Length == 0 ? NoneOnline(group)
            : invited ? $"waiting for an online member of '{group}' to admit you with the invite (online: {online})"
            : $"waiting for a member of '{group}' to admit you (any online member adds you to the group log; online: {online})"));
    }

    /// <summary>Presence changed in a group this peer is not linked in yet: the records are filed, and while it waits to
    /// be admitted, a member coming online (or the last one going) is said.</summary>
    public void OnMembersChanged(GroupState state, IReadOnlyList<KeyChange> changes)
    {
        var waiting = state.Phase == GroupPhase.AwaitingAdmission;
        var before = state.Members.Count;
        foreach (var change in GroupDirectory.ToMemberChanges(state.Name, changes).Where(c => c.PeerId != core.PeerId))
        {
            if (change.Record is not { } record)
            {
                state.Table.Gone(change.PeerId);
                continue;
            }

            if (parts.Presence.Sort(state, record) == MemberSort.NewMember && waiting)
            {
                core.Emit(new WaitingEvent(state.Name, $"{state.Label(record.PeerId, record.Name)} is online in '{state.Name}': asking to be admitted"));
            }
        }

        if (waiting && before > 0 && state.Members.Count == 0)
        {
            core.Emit(new WaitingEvent(state.Name, NoneOnline(state.Name)));
        }
    }

    private static string NoneOnline(string group) =>
        $"no member of '{group}' is online to admit you: waiting (any member's peer admits you when it starts)";
}
