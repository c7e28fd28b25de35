using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Peer.Groups;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary>Following each group's log: entries applied as they come (members in and out, new epochs), a fork ended
/// by the rule every member follows, and entries etcd lost or altered put back. Session loop only.</summary>
internal sealed partial class LogKeeper(SessionCore core, SessionParts parts, IGroupLogStore logStore, GroupLogCopy logCopy)
{
    private readonly ILogger _log = core.Log;

    /// <summary>Puts back log entries etcd lost or holds altered, from the log this peer trusts, in the background. At
    /// most once a second per entry (an etcd writer rewriting in a loop costs it writes, not this peer a storm); an entry
    /// held back is put back at a later tick.</summary>
    public void Repair(GroupState state, IReadOnlyList<long> indexes, CancellationToken ct)
    {
        foreach (var index in indexes)
        {
            state.PendingRepairs.Add(index);
        }

        RepairDue(state, ct);
    }

    public void RepairDue(GroupState state, CancellationToken ct)
    {
        foreach (var index in state.PendingRepairs.ToList())
        {
            if (state.RepairedAtMs.TryGetValue(index, out var last) && core.MonoMs - last < 1000)
            {
                continue;
            }

            state.PendingRepairs.Remove(index);
            state.RepairedAtMs[index] = core.MonoMs;
            var (group, record) = (state.Name, state.Log.RecordAt(index));
            _ = Task.Run(async () =>
            {
                try
                {
                    await logStore.RepairAsync(group, index, record, ct);
                    LogRepairedEntry(index, group);
                }
                catch (Exception e) when (e is EtcdUnavailableException or OperationCanceledException)
                {
                    // The next read of the log (a watch change, a join) names it again.
                }
            }, CancellationToken.None);
        }
    }

    public async Task OnLogChangedAsync(SessionInput.LogChanged changed, CancellationToken ct)
    {
        if (!core.Groups.TryGetValue(changed.Group, out var state))
        {
            return;
        }

        await OnLogStepAsync(state, state.Follower.Observe(changed.Changes, defend: state.Log.Members.ContainsKey(core.PeerId), core.NowMs), ct);
    }

    /// <summary>Acts on what following the log came to: errors told, entries put back, applied entries' meaning.</summary>
    public async Task OnLogStepAsync(GroupState state, LogStep step, CancellationToken ct)
    {
        foreach (var error in step.Errors)
        {
            core.Emit(new ErrorEvent(error));
        }

        var applied = step.Applied;
        foreach (var entry in applied)
        {
            LogApplied(entry.Index, entry.Op, state.Name, entry.Epoch);
        }

        if (step.SwitchedAt is { } at)
        {
            await OnSwitchedAsync(state, at, ct);
            return;
        }

        Repair(state, step.Repairs, ct);
        if (applied.Count == 0)
        {
            return;
        }

        if (state.Log.Members.ContainsKey(core.PeerId))
        {
            logCopy.Save(state.Log);
        }

        foreach (var entry in applied)
        {
            if (!core.Groups.ContainsKey(state.Name))
            {
                return;
            }

            await OnAppliedAsync(state, entry, ct);
        }

        var waiting = state.FutureGrants.ToList();
        state.FutureGrants.Clear();
        parts.Keys.AcceptGrants(state, waiting);
        await parts.Keys.AfterKeysAsync(state, ct);
    }

    /// <summary>The log went on with another entry at <paramref name="at"/> (a fork ended by the lower-hash rule): keys of
    /// epochs the log now holds with other keys are retired, members filed again, links and sending checked again, and
    /// etcd's entries after the new head read (they were junk on the other branch).</summary>
    private async Task OnSwitchedAsync(GroupState state, long at, CancellationToken ct)
    {
        var group = state.Name;
        foreach (var (epoch, key) in core.Keyring.Of(group).ToList())
        {
            if (epoch > state.Log.Epochs.Count || key.Check(group, epoch) != state.Log.Epochs[(int)epoch - 1].KeyCheck)
            {
                core.Keyring.Retire(group, epoch);
            }
        }

        if (!state.Log.Members.ContainsKey(core.PeerId))
        {
            core.Emit(new ErrorEvent($"group '{group}': on the branch of its log that every member follows, you are not a member") { Group = group });
            await parts.Lifecycle.DropGroupAsync(state, ct);
            core.Emit(new MemberEvent(group, core.Name, core.PeerId, Joined: false, MemberEvent.Removed));
            return;
        }

        logCopy.Save(state.Log);
        state.Table.Refile(state.Log);
        parts.Links.ApplyLinks();
        state.CanSend = core.Keyring.TryGet(group, state.Log.CurrentEpoch.Number) is not null;
        var head = state.Log.Head;
        _ = core.Background($"reading the log of '{group}' after entry {at}", async c => core.Post(new SessionInput.LogChanged(group, await logStore.ReadAfterAsync(group, head, c))));
        // Grants of this branch's epoch keys may be in etcd already (written over the other branch's): taken again.
        _ = core.Background($"reading the key grants of '{group}'", async c => core.Post(new SessionInput.KeyGranted(group,
            (await logStore.ListAsync(MeshKeys.GrantsPrefix(group, core.PeerId), 100_000, c)).Values.Select(g => new KeyChange(g.Key, false, g.Value, 0, 0)).ToList())));
        parts.Admissions.Replan(state);
        core.Sender?.ReleaseHeld(state);
    }

    /// <summary>What an applied entry means for this peer: a member in or out, a new epoch, a rotation to make.</summary>
    private async Task OnAppliedAsync(GroupState state, LogEntry entry, CancellationToken ct)
    {
        switch (entry.Op)
        {
            case LogOp.Add:
                var candidate = state.Table.Admitted(entry.Peer!);
                state.Requests.Remove(entry.Peer!);
                state.ActAtMs.Remove(entry.Peer!);
                if (candidate is not null && Presence.IsMember(parts.Presence.Sort(state, candidate)) && state.Ready)
                {
                    core.Emit(new MemberEvent(state.Name, state.Label(candidate.PeerId, candidate.Name), candidate.PeerId, Joined: true));
                }

                parts.Links.ApplyLinks();
                break;
            case LogOp.Remove or LogOp.Leave when entry.Peer == core.PeerId:
                if (entry.Op == LogOp.Remove)
                {
                    var by = state.Log.NameOf(entry.By) ?? entry.By;
                    core.Emit(new ErrorEvent($"you were removed from '{state.Name}' by {by}") { Group = state.Name });
                    await parts.Lifecycle.DropGroupAsync(state, ct);
                    core.Emit(new MemberEvent(state.Name, core.Name, core.PeerId, Joined: false, MemberEvent.Removed) { By = by });
                }

                break;
            case LogOp.Remove or LogOp.Leave:
                var record = state.Table.Removed(entry.Peer!);
                state.AwaitingLinks.Remove(entry.Peer!);
                parts.Links.ApplyLinks();
                if (state.Ready)
                {
                    var label = record is not null ? state.Label(record.PeerId, record.Name) : entry.Peer!;
                    core.Emit(new MemberEvent(state.Name, label, entry.Peer!, Joined: false, entry.Op == LogOp.Remove ? MemberEvent.Removed : MemberEvent.Left));
                }

                parts.Admissions.ScheduleRotation(state);
                break;
        }

        if (entry.Epoch > 0)
        {
            state.EpochEndSeenMs[entry.Epoch - 1] = core.MonoMs;
        }

        if (entry.Epoch > 0 && core.Keyring.TryGet(state.Name, entry.Epoch) is null && state.Log.Members.ContainsKey(core.PeerId))
        {
            // Until the new key is here, typed lines are held, not sealed under the key the departed member knows.
            state.CanSend = false;
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 511, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "applied entry {Index} ({Op}) of the group log of '{Group}'; epoch {Epoch}")]
    private partial void LogApplied(long index, LogOp op, string group, long epoch);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 510, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "put back entry {Index} of the group log of '{Group}' in etcd")]
    private partial void LogRepairedEntry(long index, string group);
}
