using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.Membership;
using Mesh.Coordinator.Registry;
using Mesh.Peer.Configuration;
using Mesh.Peer.Groups;

namespace Mesh.Peer.Session;

/// <summary>Who is online in each group: presence records filed (members, candidates, records refused), arrivals and
/// departures told, and whether a departure was a clean exit or an expiry. Session loop only.</summary>
internal sealed class Presence(SessionCore core, SessionParts parts, IPresence registration)
{
    /// <summary>Members that marked their exit as clean, by group: when their presence in that group goes, they
    /// exited rather than expired. Kept per group, since each group's departures are taken in its own lane: a return
    /// seen in one group says nothing of a departure another group has still to take.</summary>
    private readonly HashSet<(string Group, string PeerId)> _exiting = [];

    /// <summary>Departures without a clean-exit mark yet, by group and peer: told once the mark comes (an exit) or
    /// <see cref="ExitMarkWait"/> has passed (an expiry). The mark and the presence records are followed by two watches,
    /// whose changes may reach the loop in either order.</summary>
    private readonly Dictionary<(string Group, string PeerId), (MemberEvent Gone, long DueMs)> _departing = [];

    /// <summary>How long a departure waits for its clean-exit mark before it is told as an expiry.</summary>
    public static readonly TimeSpan ExitMarkWait = TimeSpan.FromSeconds(1);

    /// <summary>Every tick: departures whose mark did not come are told as expiries (crashed or cut off).</summary>
    public void Tick(long nowMs)
    {
        foreach (var (key, (gone, dueMs)) in _departing.Where(d => d.Value.DueMs <= nowMs).ToList())
        {
            _departing.Remove(key);
            core.Emit(gone with { Reason = MemberEvent.Expired });
        }
    }

    /// <summary>The group was left: nothing more is told of its members.</summary>
    public void Forget(string group)
    {
        foreach (var key in _departing.Keys.Where(k => k.Group == group).ToList())
        {
            _departing.Remove(key);
        }

        _exiting.RemoveWhere(e => e.Group == group);
    }

    /// <summary>A departure waiting for its mark is told now, as an expiry (the peer came back first, or its group went).</summary>
    private void TellDeparting(string group, string peerId)
    {
        if (_departing.Remove((group, peerId), out var waiting))
        {
            core.Emit(waiting.Gone with { Reason = MemberEvent.Expired });
        }
    }

    /// <summary>Peers marked their exit as clean (they revoke their lease next): a departure already seen is told as an
    /// exit; otherwise they are marked in every group they are online in.</summary>
    public void OnExiting(IReadOnlyList<KeyChange> changes)
    {
        foreach (var change in changes.Where(c => !c.IsDelete && c.Key.StartsWith(MeshKeys.LeavingPrefix, StringComparison.Ordinal)))
        {
            if (_exiting.Count > 100_000)
            {
                _exiting.Clear();
            }

            var peerId = change.Key[MeshKeys.LeavingPrefix.Length..];
            foreach (var key in _departing.Keys.Where(k => k.PeerId == peerId).ToList())
            {
                _departing.Remove(key, out var waiting);
                core.Emit(waiting.Gone with { Reason = MemberEvent.Exited });
            }

            foreach (var state in core.Groups.Values.Where(s => s.Members.ContainsKey(peerId)))
            {
                _exiting.Add((state.Name, peerId));
            }
        }
    }

    public void OnMembersChanged(SessionInput.MembersChanged changed)
    {
        if (!core.Groups.TryGetValue(changed.Group, out var state) || state.Left)
        {
            return;
        }

        if (!state.Connected)
        {
            // Followed while this peer waits to be admitted (or for its key): filed, and the wait told honestly.
            parts.Waiting.OnMembersChanged(state, changed.Changes);
            return;
        }

        foreach (var change in GroupDirectory.ToMemberChanges(changed.Group, changed.Changes))
        {
            if (change.PeerId == core.PeerId)
            {
                continue;
            }

            if (change.Record is { } record)
            {
                // Present again: how it last went (a clean exit) says nothing of how it goes next.
                _exiting.Remove((state.Name, change.PeerId));
                TellDeparting(state.Name, change.PeerId);
                var sorted = Sort(state, record);
                if (sorted == MemberSort.Moved)
                {
                    parts.Links.Table.OnMoved(change.PeerId);
                }
                else if (sorted == MemberSort.NewMember && state.Ready)
                {
                    core.Emit(new MemberEvent(state.Name, state.Label(record.PeerId, record.Name), record.PeerId, Joined: true));
                }
            }
            else
            {
                var exited = _exiting.Remove((state.Name, change.PeerId));
                if (state.Table.Gone(change.PeerId) is { } gone)
                {
                    state.AwaitingLinks.Remove(change.PeerId);
                    if (state.Ready)
                    {
                        var departed = new MemberEvent(state.Name, state.Label(gone.PeerId, gone.Name), gone.PeerId, Joined: false, MemberEvent.Exited);
                        if (exited)
                        {
                            core.Emit(departed);
                        }
                        else
                        {
                            // Its clean-exit mark may still be on its way: told when it comes, or as an expiry.
                            _departing[(state.Name, change.PeerId)] = (departed, core.MonoMs + (long)ExitMarkWait.TotalMilliseconds);
                        }
                    }
                }
            }
        }

        parts.Links.ApplyLinks();
        parts.Lifecycle.TryReady(state, core.MonoMs);
    }

    /// <summary>The members watch lost revisions: members as etcd has them now replace what this peer knew.</summary>
    public void OnMembersListed(SessionInput.MembersListed listed)
    {
        if (!core.Groups.TryGetValue(listed.Group, out var state) || state.Left)
        {
            return;
        }

        var now = listed.Members.Where(m => m.PeerId != core.PeerId).GroupBy(m => m.PeerId).ToDictionary(g => g.Key, g => g.Last());
        var changes = state.Members.Keys.Concat(state.Candidates.Keys).Where(p => !now.ContainsKey(p)).Distinct()
            .Select(p => new KeyChange(MeshKeys.Member(listed.Group, p), true, [], 0, 0))
            .Concat(now.Values.Select(m => new KeyChange(MeshKeys.Member(listed.Group, m.PeerId), false, m.ToBytes(), 0, 0)))
            .ToList();
        OnMembersChanged(new SessionInput.MembersChanged(listed.Group, changes));
    }

    /// <summary>Files a member record (see <see cref="MemberTable"/>): a candidate is scheduled for admission, a record
    /// that is not signed or not the log's is ignored with a rate-limited warning.</summary>
    public MemberSort Sort(GroupState state, MemberRecord record)
    {
        var sorted = state.Table.Sort(record, state.Log);
        switch (sorted)
        {
            case MemberSort.NotSigned:
                core.Warnings.Warn($"record:{record.PeerId}", $"group '{state.Name}': ignored a member record for {Naming.Printable(record.PeerId)} that is not signed by its peer");
                break;
            case MemberSort.KeysNotTheLogs:
                core.Warnings.Warn($"keys:{record.PeerId}", $"group '{state.Name}': ignored a record of {state.Label(record.PeerId, record.Name)} with keys other than the group log's");
                break;
            case MemberSort.Unfit:
                _ = Newcomer.TryFrom(record, state.Log, out var why);
                core.Warnings.Warn($"unfit:{record.PeerId}", $"group '{state.Name}': the presence record of {Naming.Printable(record.PeerId)} cannot be admitted ({why}); ignoring it");
                break;
            case MemberSort.Candidate:
                parts.Admissions.Schedule(state, record.PeerId);
                break;
        }

        return sorted;
    }

    public static bool IsMember(MemberSort sorted) => sorted is MemberSort.Member or MemberSort.NewMember or MemberSort.Moved;

    /// <summary>This peer's presence record for <paramref name="group"/> ("" for the peer record), signed.</summary>
    /// <remarks>A group's record carries this peer's consent to be added to the group whose genesis it read (what a member
    /// who admits it copies into the log).</remarks>
    public MemberRecord OwnRecord(string group) =>
        MemberSignature.Sign(new MemberRecord(core.PeerId, core.Name, core.Identity.PublicKeyZ85, Convert.ToBase64String(core.Identity.SigningPublicKey), core.Endpoint,
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())
        {
            Group = group,
            Consent = group.Length > 0 && core.Groups.TryGetValue(group, out var state)
                ? Convert.ToBase64String(JoinConsent.Sign(core.Identity, group, state.Log.GenesisHash, core.Name))
                : null,
        }, core.Identity);

    /// <summary>Tells watchers this exit is clean: the lease is revoked next, not left to expire.</summary>
    public async Task MarkLeavingAsync()
    {
        if (core.EtcdDown)
        {
            return;
        }

        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await registration.PutAsync(MeshKeys.Leaving(core.PeerId), [], deadline.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or EtcdUnavailableException or Grpc.Core.RpcException or InvalidOperationException)
        {
            // Then the watcher sees an expiry: a fair account of an exit etcd did not hear about.
        }
    }
}
