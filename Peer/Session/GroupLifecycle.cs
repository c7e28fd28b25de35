using Mesh.Coordinator;
using Mesh.Coordinator.Registry;
using Mesh.Peer.Groups;

namespace Mesh.Peer.Session;

/// <summary>A group's way in and out once joined: ready when history is loaded and the members known at join are linked,
/// leaving by a signed entry, and dropping the group here. Session loop only.</summary>
internal sealed class GroupLifecycle(SessionCore core, SessionParts parts, IPresence registration, RetentionKeeper retention)
{
    /// <summary>How long ready waits for hellos from the members known at join before it goes ahead without them.</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Emits ready once history is loaded and every member known at join has said hello (or time is up).</summary>
    public void TryReady(GroupState state, long now)
    {
        if (state.Ready || !state.HistoryLoaded)
        {
            return;
        }

        var timedOut = now - state.JoinStartedMs >= ReadyTimeout.TotalMilliseconds;
        if (state.AwaitingLinks.Count > 0 && !timedOut)
        {
            return;
        }

        state.Ready = true;
        var peers = state.Members.Values.Select(m => new MemberId(state.Label(m.PeerId, m.Name), m.PeerId))
            .Append(new MemberId(state.Label(core.PeerId, core.Name), core.PeerId)).OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
        core.Emit(new ReadyEvent(state.Name, peers.Select(p => p.Name).ToList(), peers));
        if (state.AwaitingLinks.Count > 0)
        {
            var missing = string.Join(", ", state.AwaitingLinks.Select(p => state.Members.TryGetValue(p, out var m) ? state.Label(p, m.Name) : p));
            core.Emit(new ErrorEvent($"group '{state.Name}': not connected yet to {missing}; still trying"));
        }
    }

    /// <summary><c>/leave G</c>: a signed leave entry ends this peer's membership (a member who stays starts the next
    /// key epoch), then the group is dropped here.</summary>
    public void Leave(string group)
    {
        if (!core.Groups.TryGetValue(group, out var state))
        {
            core.Emit(new ErrorEvent($"not in group '{group}'"));
            return;
        }

        if (state.Leaving)
        {
            core.Emit(new InfoEvent($"leaving '{group}' already: its log is being written", group));
            return;
        }

        // Nothing more is sent from here on: what this peer sent so far is all its leave lets stand.
        state.MoveTo(GroupPhase.Leaving);
        if (!state.Log.Members.ContainsKey(core.PeerId))
        {
            core.Post(new SessionInput.Continue(group, () => LeftAsync(state, core.Stopping)));
            return;
        }

        // The leave follows this peer's last messages on the wire: it is committed once they are published.
        if (core.Sender is { } sender)
        {
            sender.WhenPublished(group, () => parts.Commits.Commit(state, LeavingOf(state)));
        }
        else
        {
            parts.Commits.Commit(state, LeavingOf(state));
        }
    }

    private CommitIntent LeavingOf(GroupState state) =>
        new($"leaving '{state.Name}'", log => log.Members.ContainsKey(core.PeerId)
            ? GroupCommits.Leave(log, core.Identity, core.NowMs, GroupLog.CutOf(state.Streams.Of(core.PeerId).Append((core.RunEpoch, core.Sender?.LastSeq(state.Name) ?? 0))))
            : null, [])
        {
            Then = end =>
            {
                if (end != CommitEnd.GaveUp)
                {
                    return LeftAsync(state, core.Stopping);
                }

                parts.Commits.Commit(state, LeavingOf(state));
                return Task.CompletedTask;
            },
        };

    private async Task LeftAsync(GroupState state, CancellationToken ct)
    {
        if (!core.Groups.ContainsKey(state.Name))
        {
            return;
        }

        await DropGroupAsync(state, ct);
        core.Emit(new MemberEvent(state.Name, core.Name, core.PeerId, Joined: false, MemberEvent.Left));
    }

    /// <summary>Stops following a group and withdraws this peer's presence in it.</summary>
    public async Task DropGroupAsync(GroupState state, CancellationToken ct)
    {
        core.Groups.Remove(state.Name);
        state.MoveTo(GroupPhase.Left);
        state.Committer.Clear();
        parts.Presence.Forget(state.Name);
        parts.Keys.Forget(state.Name);
        retention.Forget(state.Name);
        await GroupLifecycle.StopWatchesAsync(state);
        parts.Links.ApplyLinks();
        await registration.DeleteAsync(MeshKeys.Member(state.Name, core.PeerId), ct);
        if (core.Current == state.Name)
        {
            core.Current = core.Groups.Keys.FirstOrDefault();
        }
    }

    public static async Task StopWatchesAsync(GroupState state)
    {
        foreach (var watch in state.Watches)
        {
            await watch.DisposeAsync();
        }
    }
}
