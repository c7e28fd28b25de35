using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Coordinator.Registry;
using Mesh.Peer.Configuration;
using Mesh.Peer.Groups;
using Mesh.Peer.Home;

namespace Mesh.Peer.Session;

/// <summary>Joining a group: its log created or read and checked, an invite redeemed, presence written, then links,
/// history and watches once this peer is a member holding the current key. Session loop only.</summary>
internal sealed class GroupJoiner(SessionCore core, SessionParts parts, IEtcdInfo etcd, IGroupLogStore logStore, GroupLogCopy logCopy,
    IMemberDirectory directory, IPresence registration, HomeWriter home, MeshOptions options)
{
    /// <summary>Joins a group named at start. etcd answered a moment ago: a call that times out now (a loaded etcd, a
    /// leader election) is tried again twice, after 1 and 2 s, before the peer gives up with one line.</summary>
    public async Task JoinWithRetriesAsync(string group, JoinRequest request, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await JoinAsync(group, request, ct);
                return;
            }
            catch (EtcdUnavailableException e) when (attempt < 3)
            {
                core.Emit(new ErrorEvent($"joining '{group}': {e.Message}; trying again"));
                await Task.Delay(TimeSpan.FromSeconds(attempt), ct);
            }
        }
    }

    /// <summary>Joins a group: its log (created, or read and checked), admission, presence, then links, history and
    /// watches once this peer is a member holding the current epoch's key.</summary>
    /// <remarks>
    /// A group that does not exist is created with a signed genesis. Otherwise the log in etcd is checked against this
    /// home's copy (which pins it), and this peer is a member already, redeems an invite (its admission is then
    /// committed by an online member), or, in an open group, registers and waits for a member to add it.
    /// </remarks>
    public async Task JoinAsync(string group, JoinRequest request, CancellationToken ct)
    {
        if (core.Groups.ContainsKey(group))
        {
            core.Emit(new ErrorEvent($"already in group '{group}'"));
            return;
        }

        // In the session's map only once its log is read and checked: nothing reads a group before it is built.
        var state = new GroupState(group) { JoinStartedMs = core.MonoMs };
        core.Instruments.GroupJoined(group);
        try
        {
            var invite = request.Invite is { } code ? Invite.Parse(code, "invite") : null;
            if (invite?.Group is { } named && named != group)
            {
                // A code names the one group it is for: joined with several, the others join as they would without it.
                invite.Dispose();
                invite = null;
            }

            var created = false;
            var (genesis, entries, revision) = await logStore.ReadAsync(group, ct);
            // Read on the home's writer, off the loop.
            await core.Keyring.LoadAsync(group);
            var copy = await logCopy.LoadAsync(group);
            if (genesis is null && request.Recreate && (copy is not null || core.Keyring.Of(group).Count > 0))
            {
                // Asked for in so many words: the old group's keys and copies go aside (never deleted), a new one starts.
                var aside = Path.Combine(options.Home, "replaced", $"{group}-{DateTimeOffset.UtcNow:yyyyMMddTHHmmssZ}");
                await core.Keyring.MoveAsideAsync(group, aside);
                await logCopy.MoveAsideAsync(group, aside);
                await home.MoveCopyAsideAsync(group, aside);
                core.Emit(new ErrorEvent($"--recreate: '{group}' is created afresh; this home's keys and copies of the old group are in {aside}"));
                copy = null;
            }

            if (genesis is null && copy is null)
            {
                if (invite is not null)
                {
                    throw new MeshException($"invite: group '{group}' does not exist in etcd at {etcd.Describe}");
                }

                if (core.Keyring.Of(group).Count > 0)
                {
                    // This home was in a group of that name that etcd no longer has: creating it again would make a new
                    // key, and everything of the old group would be unreadable. Only an explicit command does that.
                    throw new MeshException($"group '{group}' is gone from etcd at {etcd.Describe}, but this home holds its keys: "
                        + $"restore etcd, or run 'mesh join {group} --recreate' to create it afresh (the old keys are kept aside)");
                }

                if (request.Direct is null && group.StartsWith(DirectName.Prefix, StringComparison.Ordinal))
                {
                    throw new MeshException($"group names starting with '{DirectName.Prefix}' are for direct conversations: open one with /msg NAME");
                }

                var commit = request.Direct is { } partner
                    ? GroupCommits.Direct(core.Identity, core.Name, partner, core.NowMs, request.Keep)
                    : GroupCommits.Genesis(group, request.Private ? LogEntry.Private : LogEntry.Open, core.Identity, core.Name, core.NowMs, request.Keep);
                if (await logStore.TryAppendAsync(group, 0, commit.Record, commit.Grants, ct))
                {
                    core.Keyring.Save(group, [(1, commit.NewKey!)]);
                    created = true;
                    core.Emit(new InfoEvent(request.Direct is { } with
                        ? $"opened a direct conversation with {with.Name}: only the two of you hold its key; it keeps {(request.Keep ?? Retention.Default).Describe()}"
                        : $"created group '{group}': "
                        + (request.Private ? $"private (members join with an invite: /invite {group} in the chat, or 'mesh invite {group}')" : "open (anyone using this etcd may join)")
                        + $"; it keeps {(request.Keep ?? Retention.Default).Describe()}", group));
                }

                (genesis, entries, revision) = await logStore.ReadAsync(group, ct);
            }

            if (genesis is not null && copy is null && GroupRecord.IsUnsignedFormat(genesis))
            {
                throw new MeshException($"group '{group}' was made by an older Mesh, without a signed group log: it cannot be joined safely; create a new group");
            }

            var merged = GroupLogSync.Merge(group, copy, genesis, entries);
            foreach (var error in merged.Errors)
            {
                core.Emit(new ErrorEvent(error));
            }

            state.Follower = new LogFollower(merged.Log ?? throw new MeshException($"group '{group}': no valid group log in etcd; not joining it"));
            core.Groups[group] = state;
            parts.Follow.Repair(state, merged.Repairs, ct);
            if (invite is not null && copy is null && state.Log.GenesisHash != invite.GenesisHash)
            {
                throw new MeshException($"invite: it is for another group '{group}' than the one in etcd (its genesis differs); not joining");
            }

            if (request.Private && !created && (!state.Log.IsPrivate || state.Log.Creator != core.PeerId))
            {
                throw new MeshException(state.Log.IsPrivate
                    ? $"--private: group '{group}' already exists and was not created by this home"
                    : $"--private: group '{group}' already exists and is open (anyone may join it); choose another name");
            }

            if (request.Keep is { } keep && !created && keep != state.Log.Retention)
            {
                core.Emit(new ErrorEvent($"--keep {keep}: group '{group}' exists already and keeps {state.Log.Retention.Describe()} (chosen when it was created); its retention is unchanged"));
            }

            CheckDirect(state, request);
            var member = state.Log.Members.ContainsKey(core.PeerId);
            if (member)
            {
                logCopy.Save(state.Log);
            }
            else if (invite is null && state.Log.IsPrivate)
            {
                throw new MeshException(state.Log.WasRemoved(core.PeerId)
                    ? $"you were removed from '{group}': only a new invite admits you again"
                    : $"group '{group}' is private: ask a member for an invite (/invite {group} in the chat, or 'mesh invite {group}') and type /accept CODE, or join with the code in MESH_INVITE or --invite-file");
            }
            else if (invite is null && state.Log.WasRemoved(core.PeerId))
            {
                throw new MeshException($"you were removed from '{group}': only an invite (mesh invite {group}) admits you again");
            }

            // Watches start where the reads ended, so that nothing between a read and its watch is missed.
            state.LogWatch = parts.Watches.Watch(MeshKeys.LogPrefix(group), revision + 1, changes => new SessionInput.LogChanged(group, changes),
                reread: async ct => new SessionInput.LogChanged(group, await logStore.ReadAfterAsync(group, 0, ct)));
            state.GenesisWatch = parts.Watches.Watch(MeshKeys.Group(group), revision + 1, changes => new SessionInput.LogChanged(group, changes),
                reread: async ct => new SessionInput.LogChanged(group, await logStore.GetAsync(MeshKeys.Group(group), ct) is { } g
                    ? [new KeyChange(MeshKeys.Group(group), false, g.Value, g.ModRevision, 0)]
                    : []));
            var (grants, grantsRevision) = await logStore.ListAsync(MeshKeys.GrantsPrefix(group, core.PeerId), 100_000, ct);
            // A newcomer waits for its grant on this watch: if etcd compacts meanwhile, the grants are listed again.
            state.GrantWatch = parts.Watches.Watch(MeshKeys.GrantsPrefix(group, core.PeerId), grantsRevision + 1, changes => new SessionInput.KeyGranted(group, changes),
                reread: async ct => new SessionInput.KeyGranted(group, (await logStore.ListAsync(MeshKeys.GrantsPrefix(group, core.PeerId), 100_000, ct)).Values
                    .Select(g => new KeyChange(g.Key, false, g.Value, 0, 0)).ToList()));
            if (invite is not null && !member)
            {
                await RedeemInviteAsync(state, invite, ct);
            }

            await registration.PutAsync(MeshKeys.Member(group, core.PeerId), parts.Presence.OwnRecord(group).ToBytes(), ct);
            parts.Keys.AcceptGrants(state, grants.Select(g => g.Value));
            if (!member)
            {
                state.MoveTo(GroupPhase.AwaitingAdmission);
                await parts.Waiting.StartAsync(state, invite is not null, ct);
                return;
            }

            await StartIfAdmittedAsync(state, ct);
        }
        catch
        {
            state.MoveTo(GroupPhase.Left);
            if (core.Groups.TryGetValue(group, out var held) && held == state)
            {
                core.Groups.Remove(group);
            }

            await GroupLifecycle.StopWatchesAsync(state);
            parts.Links.ApplyLinks();
            throw;
        }
    }

    /// <summary>A direct conversation is joined only by its two members, and only as one: the log in etcd must be the
    /// conversation of this peer, with its own keys, and of the member asked for (with the keys a shared log pinned).</summary>
    private void CheckDirect(GroupState state, JoinRequest request)
    {
        var log = state.Log;
        var ownCurve = log.Genesis.By == core.PeerId ? log.Genesis.PeerCurveKey : log.Genesis.PartnerCurveKey;
        if (request.Direct is { } asked && (!log.IsDirect || log.PartnerOf(core.PeerId) is not { } partner || partner.PeerId != asked.PeerId
            || !partner.SigningKey.AsSpan().SequenceEqual(asked.SigningKey) || partner.CurveKey != asked.CurveKey || ownCurve != core.Identity.PublicKeyZ85))
        {
            throw new MeshException($"'{state.Name}' in etcd is not the direct conversation of you and {asked.Name} (written by someone else, or with other keys); not joining it");
        }

        if (!log.IsDirect)
        {
            return;
        }

        if (log.Members.ContainsKey(core.PeerId))
        {
            // However it was joined (by /msg, a notice, or its group name), it is shown named for the other member.
            var with = log.PartnerOf(core.PeerId)!;
            core.Labels.Add(state.Name, with.Name, with.PeerId);
            return;
        }

        throw new MeshException(log.PartnerOf(core.PeerId) is { } other
            ? $"you left your direct conversation with {other.Name}: it cannot be opened again"
            : $"'{state.Name}' is a direct conversation of two others: no one else can join it");
    }

    /// <summary>Once this peer is a member holding the current epoch's key: links, history, watches, ready.</summary>
    public async Task StartIfAdmittedAsync(GroupState state, CancellationToken ct)
    {
        if (state.Leaving || state.Left)
        {
            // Left (or leaving) before the admission or the key came: nothing starts.
            return;
        }

        state.CanSend = state.Log.Members.ContainsKey(core.PeerId) && core.Keyring.TryGet(state.Name, state.Log.CurrentEpoch.Number) is not null;
        if (state.Connected || !state.CanSend)
        {
            if (state.Log.Members.ContainsKey(core.PeerId) && !state.CanSend && !state.Connected)
            {
                core.Emit(new WaitingEvent(state.Name, $"waiting for the key of epoch {state.Log.CurrentEpoch.Number} of '{state.Name}' (a member wraps it to you)"));
                state.MoveTo(GroupPhase.AwaitingKey);
            }

            return;
        }

        state.MoveTo(GroupPhase.Loading);
        // The first load goes on through an etcd that is cut or slow until it succeeds (or the group is left): each
        // step below is done once, so a retry takes up where the failure was.
        var backoff = new Backoff(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10));
        string? failing = null;
        while (true)
        {
            try
            {
                await LoadOnceAsync(state, ct);
                break;
            }
            catch (EtcdUnavailableException e) when (!ct.IsCancellationRequested)
            {
                if (state.Leaving || state.Left)
                {
                    return;
                }

                var delay = backoff.Next();
                if (failing is null)
                {
                    // Said once, in words that are true: this peer is a member with the key, and reads the group.
                    core.Emit(new WaitingEvent(state.Name, $"reading '{state.Name}' from etcd failed ({e.Message}); trying again until etcd answers"));
                }

                failing = e.Message;
                await Task.Delay(delay, ct);
                if (state.Leaving || state.Left)
                {
                    return;
                }
            }
        }

        if (failing is not null)
        {
            core.Emit(new InfoEvent($"read '{state.Name}' from etcd after it failed ({failing})", state.Name));
        }

        parts.Admissions.ScheduleRotation(state);
    }

    /// <summary>The steps of a first load, each done once: admission requests and key asks followed, members and links,
    /// then the history and ready.</summary>
    private async Task LoadOnceAsync(GroupState state, CancellationToken ct)
    {
        var group = state.Name;
        if (state.AdmitWatch is null)
        {
            // Invites admit to open groups too (the code pins the genesis): every member follows the requests.
            var (requests, revision) = await logStore.ListAsync(MeshKeys.AdmitPrefix(group), 1000, ct);
            parts.Admissions.OnAdmissionRequests(state, requests.Select(r => new KeyChange(r.Key, false, r.Value, 0, 0)).ToList());
            state.AdmitWatch = parts.Watches.Watch(MeshKeys.AdmitPrefix(group), revision + 1, changes => new SessionInput.AdmissionRequests(group, changes),
                reread: async ct => new SessionInput.AdmissionRequests(group, (await logStore.ListAsync(MeshKeys.AdmitPrefix(group), 1000, ct)).Values
                    .Select(r => new KeyChange(r.Key, false, r.Value, 0, 0)).ToList()));
        }

        if (state.KeyAskWatch is null)
        {
            // Members that lack a key they should hold ask for it here; this peer answers what it can.
            var (asks, asksRevision) = await logStore.ListAsync(MeshKeys.KeyRequestPrefix(group), 1000, ct);
            parts.Keys.OnKeyAsks(state, asks.Select(r => new KeyChange(r.Key, false, r.Value, 0, 0)).ToList());
            state.KeyAskWatch = parts.Watches.Watch(MeshKeys.KeyRequestPrefix(group), asksRevision + 1, changes => new SessionInput.KeyAsks(group, changes),
                reread: async ct => new SessionInput.KeyAsks(group, (await logStore.ListAsync(MeshKeys.KeyRequestPrefix(group), 1000, ct)).Values
                    .Select(r => new KeyChange(r.Key, false, r.Value, 0, 0)).ToList()));
        }

        await ConnectAndLoadAsync(state, ct);
    }

    /// <summary>A member with the current key: members, links, history, watches; then admit whoever waits for the key.</summary>
    private async Task ConnectAndLoadAsync(GroupState state, CancellationToken ct)
    {
        var group = state.Name;
        if (state.MembersWatch is null)
        {
            var (members, revision) = await directory.ListMembersAsync(group, ct);
            foreach (var member in members.Where(m => m.PeerId != core.PeerId))
            {
                if (!Presence.IsMember(parts.Presence.Sort(state, member)))
                {
                    continue;
                }

                state.AwaitingLinks.Add(member.PeerId);
            }

            parts.Links.ApplyLinks();
            state.AwaitingLinks.RemoveWhere(parts.Links.Table.IsUp);
            state.MembersWatch = parts.Watches.Watch(MeshKeys.MembersPrefix(group), revision + 1, changes => new SessionInput.MembersChanged(group, changes),
                reread: async ct => new SessionInput.MembersListed(group, (await directory.ListMembersAsync(group, ct)).Members));
        }
        else
        {
            // Followed since this peer waited to be admitted (see AdmissionWait): the members online now are filed.
            state.AwaitingLinks.UnionWith(state.Members.Keys);
            parts.Links.ApplyLinks();
            state.AwaitingLinks.RemoveWhere(parts.Links.Table.IsUp);
        }

        await parts.Loader.LoadHistoryAsync(state, ct);
        // No watch on history: members' beats tell of what the live path missed, and a sweep reads it. The first
        // sweep covers what was written while this peer read and linked.
        state.Sweep = new HistorySweep(core.MonoMs, (long)options.SweepInterval.TotalMilliseconds);
        state.Sweep.NoteGap();
        state.MoveTo(GroupPhase.Live);
        // The last run's tail goes out ahead of anything this run sends: members show the runs in the order sent.
        parts.Beats.RepublishRecovered(state);
        state.JoinStartedMs = core.MonoMs;
        parts.Lifecycle.TryReady(state, core.MonoMs);
        foreach (var candidate in state.Candidates.Keys)
        {
            parts.Admissions.Schedule(state, candidate);
        }
    }

    /// <summary>Redeems an invite: deletes its record and writes this peer's admission request in one transaction, so
    /// that two redeemers cannot both use it.</summary>
    private async Task RedeemInviteAsync(GroupState state, Invite invite, CancellationToken ct)
    {
        var group = state.Name;
        var read = await logStore.GetAsync(MeshKeys.Invite(group, invite.Id), ct);
        if (read is null)
        {
            // Redeemed by this peer already (a join tried again, or a restart before a member admitted it): wait for that.
            if (await logStore.GetAsync(MeshKeys.Admit(group, core.PeerId), ct) is { } mine
                && AdmissionRequest.TryParse(mine.Value, group) is { } request && request.Invite.Id == invite.Id && request.PeerId == core.PeerId)
            {
                return;
            }

            throw new MeshException($"invite: no such invite for '{group}' (already used, expired, or for another group)");
        }

        var record = InviteRecord.TryParse(read.Value.Value);
        if (record is null || record.Group != group || record.Id != invite.Id || !record.InvitePublicKey.AsSpan().SequenceEqual(invite.PublicKey))
        {
            throw new MeshException($"invite: the invite record for '{group}' in etcd is not the one this code made; not redeeming it");
        }

        if (record.ExpiresAtMs < core.NowMs)
        {
            throw new MeshException($"invite: the invite for '{group}' expired at {DateTimeOffset.FromUnixTimeMilliseconds(record.ExpiresAtMs):yyyy-MM-dd HH:mm} UTC");
        }

        var redeemed = AdmissionRequest.Create(group, invite, read.Value.Value, core.Identity, core.Name, core.NowMs);
        if (!await logStore.RedeemAsync(MeshKeys.Invite(group, invite.Id), read.Value.ModRevision, MeshKeys.Admit(group, core.PeerId), redeemed, ct))
        {
            throw new MeshException($"invite: the invite for '{group}' was just used by someone else (an invite admits once)");
        }
    }

    /// <summary>Opens a stored history entry; a corrupt, foreign or forged one is skipped with a warning, never fatal.</summary>
    /// <summary>A <c>/join</c> of a name etcd has no group of asks first: a typo would create a group that stays.</summary>
    private (string Group, long AtMs)? _toCreate;

    private static readonly TimeSpan CreateConfirmWindow = TimeSpan.FromMinutes(1);

    /// <summary>Whether <c>/join <paramref name="group"/></c> goes ahead: the group exists (or this home knows it), or
    /// the same <c>/join</c> came again within a minute to confirm creating it.</summary>
    public async Task<bool> ConfirmedAsync(string group, CancellationToken ct)
    {
        if (core.Groups.ContainsKey(group) || _toCreate is { } asked && asked.Group == group && core.MonoMs - asked.AtMs <= CreateConfirmWindow.TotalMilliseconds)
        {
            _toCreate = null;
            return true;
        }

        try
        {
            await core.Keyring.LoadAsync(group);
            if (await logStore.GetAsync(MeshKeys.Group(group), ct) is not null || core.Keyring.Of(group).Count > 0 || await logCopy.LoadAsync(group) is not null)
            {
                return true;
            }
        }
        catch (EtcdUnavailableException)
        {
            // Not known now: the join itself says what etcd does.
            return true;
        }

        _toCreate = (group, core.MonoMs);
        core.Emit(new InfoEvent($"there is no group '{group}' yet: type /join {group} again within a minute to create it (open: anyone using this etcd may join)", group));
        return false;
    }
}
