using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Coordinator.Membership;
using Mesh.Peer.Configuration;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Home;
using Mesh.Peer.Protocol;
using Mesh.Peer.Identity;
using Mesh.Peer.Node;
using NetMQ;

namespace Mesh.Peer.Session;

public sealed partial class ChatSession
{
    /// <summary>Joins a group: its log (created, or read and checked), admission, presence, then links, history and
    /// watches once this peer is a member holding the current epoch's key.</summary>
    /// <remarks>
    /// A group that does not exist is created with a signed genesis. Otherwise the log in etcd is checked against this
    /// home's copy (which pins it), and this peer is a member already, redeems an invite (its admission is then
    /// committed by an online member), or, in an open group, registers and waits for a member to add it.
    /// </remarks>
    private async Task JoinAsync(string group, JoinRequest request, CancellationToken ct)
    {
        if (_groups.ContainsKey(group))
        {
            Emit(new ErrorEvent($"already in group '{group}'"));
            return;
        }

        var state = new GroupState(group) { JoinStartedMs = NowMs };
        _groups[group] = state;
        _instruments.GroupJoined(group);
        try
        {
            var invite = request.Invite is { } code ? Invite.Parse(code, "invite") : null;
            var created = false;
            var (genesis, entries, revision) = await _logStore.ReadAsync(group, ct);
            var copy = _logCopy.Load(group);
            if (genesis is null && request.Recreate && (copy is not null || _keyring.Of(group).Count > 0))
            {
                // Asked for in so many words: the old group's keys and copies go aside (never deleted), a new one starts.
                var aside = Path.Combine(_options.Home, "replaced", $"{group}-{DateTimeOffset.UtcNow:yyyyMMddTHHmmssZ}");
                _keyring.MoveAside(group, aside);
                _logCopy.MoveAside(group, aside);
                _local.MoveAside(group, aside);
                Emit(new ErrorEvent($"--recreate: '{group}' is created afresh; this home's keys and copies of the old group are in {aside}"));
                copy = null;
            }

            if (genesis is null && copy is null)
            {
                if (invite is not null)
                {
                    throw new MeshException($"invite: group '{group}' does not exist in etcd at {_etcd.Describe}");
                }

                if (_keyring.Of(group).Count > 0)
                {
                    // This home was in a group of that name that etcd no longer has: creating it again would make a new
                    // key, and everything of the old group would be unreadable. Only an explicit command does that.
                    throw new MeshException($"group '{group}' is gone from etcd at {_etcd.Describe}, but this home holds its keys: "
                        + $"restore etcd, or run 'mesh join {group} --recreate' to create it afresh (the old keys are kept aside)");
                }

                var commit = GroupCommits.Genesis(group, request.Private ? LogEntry.Private : LogEntry.Open, _identity, _name, NowMs, request.Keep);
                if (await _logStore.TryAppendAsync(group, 0, commit.Record, [], ct))
                {
                    _keyring.Save(group, [(1, commit.NewKey!)]);
                    created = true;
                    Emit(new InfoEvent($"created group '{group}': "
                        + (request.Private ? "private (members join with an invite from 'mesh invite " + group + "')" : "open (anyone using this etcd may join)")
                        + $"; it keeps {(request.Keep ?? Retention.Default).Describe()}", group));
                }

                (genesis, entries, revision) = await _logStore.ReadAsync(group, ct);
            }

            if (genesis is not null && copy is null && GroupRecord.IsUnsignedFormat(genesis))
            {
                throw new MeshException($"group '{group}' was made by an older Mesh, without a signed group log: it cannot be joined safely; create a new group");
            }

            var merged = GroupLogSync.Merge(group, copy, genesis, entries);
            foreach (var error in merged.Errors)
            {
                Emit(new ErrorEvent(error));
            }

            state.Follower = new LogFollower(merged.Log ?? throw new MeshException($"group '{group}': no valid group log in etcd; not joining it"));
            Repair(state, merged.Repairs, ct);
            if (invite is not null && copy is null && state.Log.GenesisHash != invite.GenesisHash)
            {
                throw new MeshException($"invite: it is for another group '{group}' than the one in etcd (its genesis differs); not joining");
            }

            if (request.Private && !created && (!state.Log.IsPrivate || state.Log.Creator != PeerId))
            {
                throw new MeshException(state.Log.IsPrivate
                    ? $"--private: group '{group}' already exists and was not created by this home"
                    : $"--private: group '{group}' already exists and is open (anyone may join it); choose another name");
            }

            if (request.Keep is { } keep && !created && keep != state.Log.Retention)
            {
                Emit(new ErrorEvent($"--keep {keep}: group '{group}' exists already and keeps {state.Log.Retention.Describe()} (chosen when it was created); its retention is unchanged"));
            }

            var member = state.Log.Members.ContainsKey(PeerId);
            if (member)
            {
                _logCopy.Save(state.Log);
            }
            else if (invite is null && state.Log.IsPrivate)
            {
                throw new MeshException(state.Log.WasRemoved(PeerId)
                    ? $"you were removed from '{group}': only a new invite admits you again"
                    : $"group '{group}' is private: ask a member to run 'mesh invite {group}' and join with the code in MESH_INVITE or --invite-file");
            }
            else if (invite is null && state.Log.WasRemoved(PeerId))
            {
                throw new MeshException($"you were removed from '{group}': only an invite (mesh invite {group}) admits you again");
            }

            // Watches start where the reads ended, so that nothing between a read and its watch is missed.
            state.LogWatch = Watch(MeshKeys.LogPrefix(group), revision + 1, changes => new SessionInput.LogChanged(group, changes),
                reread: async ct => new SessionInput.LogChanged(group, await _logStore.ReadAfterAsync(group, 0, ct)));
            state.GenesisWatch = Watch(MeshKeys.Group(group), revision + 1, changes => new SessionInput.LogChanged(group, changes),
                reread: async ct => new SessionInput.LogChanged(group, await _logStore.GetAsync(MeshKeys.Group(group), ct) is { } g
                    ? [new KeyChange(MeshKeys.Group(group), false, g.Value, g.ModRevision, 0)]
                    : []));
            var (grants, grantsRevision) = await _logStore.ListAsync(MeshKeys.GrantsPrefix(group, PeerId), 100_000, ct);
            // A newcomer waits for its grant on this watch: if etcd compacts meanwhile, the grants are listed again.
            state.GrantWatch = Watch(MeshKeys.GrantsPrefix(group, PeerId), grantsRevision + 1, changes => new SessionInput.KeyGranted(group, changes),
                reread: async ct => new SessionInput.KeyGranted(group, (await _logStore.ListAsync(MeshKeys.GrantsPrefix(group, PeerId), 100_000, ct)).Values
                    .Select(g => new KeyChange(g.Key, false, g.Value, 0, 0)).ToList()));
            if (invite is not null && !member)
            {
                await RedeemInviteAsync(state, invite, ct);
            }

            await _registration.PutAsync(MeshKeys.Member(group, PeerId), OwnRecord(group).ToBytes(), ct);
            AcceptGrants(state, grants.Select(g => g.Value));
            if (!member)
            {
                Emit(new WaitingEvent(group, invite is null
                    ? $"waiting for a member of '{group}' to admit you (any online member adds you to the group log)"
                    : $"waiting for an online member of '{group}' to admit you with the invite"));
                return;
            }

            await StartIfAdmittedAsync(state, ct);
        }
        catch
        {
            _groups.Remove(group);
            await StopWatchesAsync(state);
            ApplyLinks();
            throw;
        }
    }

    /// <summary>Once this peer is a member holding the current epoch's key: links, history, watches, ready.</summary>
    private async Task StartIfAdmittedAsync(GroupState state, CancellationToken ct)
    {
        state.CanSend = state.Log.Members.ContainsKey(PeerId) && _keyring.TryGet(state.Name, state.Log.CurrentEpoch.Number) is not null;
        if (state.Connected || !state.CanSend)
        {
            if (state.Log.Members.ContainsKey(PeerId) && !state.CanSend && !state.Connected)
            {
                Emit(new WaitingEvent(state.Name, $"waiting for the key of epoch {state.Log.CurrentEpoch.Number} of '{state.Name}' (a member wraps it to you)"));
            }

            return;
        }

        state.Connected = true;
        // Invites admit to open groups too (the code pins the genesis): every member follows the requests.
        var (requests, revision) = await _logStore.ListAsync(MeshKeys.AdmitPrefix(state.Name), 1000, ct);
        OnAdmissionRequests(state, requests.Select(r => new KeyChange(r.Key, false, r.Value, 0, 0)).ToList());
        var group = state.Name;
        state.AdmitWatch = Watch(MeshKeys.AdmitPrefix(group), revision + 1, changes => new SessionInput.AdmissionRequests(group, changes),
            reread: async ct => new SessionInput.AdmissionRequests(group, (await _logStore.ListAsync(MeshKeys.AdmitPrefix(group), 1000, ct)).Values
                .Select(r => new KeyChange(r.Key, false, r.Value, 0, 0)).ToList()));

        // Members that lack a key they should hold ask for it here; this peer answers what it can.
        var (asks, asksRevision) = await _logStore.ListAsync(MeshKeys.KeyRequestPrefix(group), 1000, ct);
        OnKeyAsks(state, asks.Select(r => new KeyChange(r.Key, false, r.Value, 0, 0)).ToList());
        state.KeyAskWatch = Watch(MeshKeys.KeyRequestPrefix(group), asksRevision + 1, changes => new SessionInput.KeyAsks(group, changes),
            reread: async ct => new SessionInput.KeyAsks(group, (await _logStore.ListAsync(MeshKeys.KeyRequestPrefix(group), 1000, ct)).Values
                .Select(r => new KeyChange(r.Key, false, r.Value, 0, 0)).ToList()));

        await ConnectAndLoadAsync(state, ct);
        ScheduleRotation(state);
    }

    /// <summary>A member with the current key: members, links, history, watches; then admit whoever waits for the key.</summary>
    private async Task ConnectAndLoadAsync(GroupState state, CancellationToken ct)
    {
        var group = state.Name;
        var (members, revision) = await _directory.ListMembersAsync(group, ct);
        foreach (var member in members.Where(m => m.PeerId != PeerId))
        {
            if (!IsMember(Sort(state, member)))
            {
                continue;
            }

            state.AwaitingLinks.Add(member.PeerId);
        }

        ApplyLinks();
        state.AwaitingLinks.RemoveWhere(_links.IsUp);
        state.MembersWatch = Watch(MeshKeys.MembersPrefix(group), revision + 1, changes => new SessionInput.MembersChanged(group, changes),
            reread: async ct => new SessionInput.MembersListed(group, (await _directory.ListMembersAsync(group, ct)).Members));

        await LoadHistoryAsync(state, ct);
        // No watch on history: members' beats tell of what the live path missed, and a sweep reads it. The first
        // sweep covers what was written while this peer read and linked.
        state.Sweep = new HistorySweep(NowMs);
        state.Sweep.NoteGap();
        state.HistoryLoaded = true;
        state.JoinStartedMs = NowMs;
        TryReady(state, NowMs);
        foreach (var candidate in state.Candidates.Keys)
        {
            Schedule(state, candidate);
        }
    }

    /// <summary>Shows the group's history, in key order: the local copy, extended by what etcd has beyond it (all of
    /// it the first time, or when the copy is damaged or etcd's history is not the one it followed, see
    /// <see cref="HistoryCatchUp"/>). Returns the revision read at.</summary>
    private async Task<long> LoadHistoryAsync(GroupState state, CancellationToken ct)
    {
        var group = state.Name;
        var copy = _local.Load(group);
        if (copy.Damaged > 0)
        {
            Emit(new ErrorEvent($"the local history copy of '{group}' had {copy.Damaged} damaged record(s) ({Path.Combine(_options.Home, "history", group + ".log")}); reading them again from etcd"));
        }

        // What lies beyond the group's retention by age is not shown, nor taken for missing from etcd (members
        // delete it there); by count, it is known once the messages are opened.
        var policy = state.Log.Retention;
        var ageBound = new RetentionWindow(policy).ViewBound(NowMs);
        var copyHeld = copy.Entries.Count;
        if (ageBound is not null)
        {
            copy = copy with
            {
                Entries = copy.Entries.Where(e => string.CompareOrdinal(e.Name, ageBound) >= 0).ToList(),
                Witness = copy.WitnessEntry is { } w && string.CompareOrdinal(w.Name, ageBound) < 0 ? "" : copy.Witness,
            };
        }

        var current = await _etcd.CurrentRevisionAsync(ct);
        // The last entry the copy took must still be in etcd, written at the same revision: otherwise etcd's data went
        // back (a restore) even if its revision has since moved on past the copy's. Under a count, members may have
        // deleted it as beyond the policy: the count of what is kept, below, tells a restore from that.
        var witnessHeld = copy.Revision == 0 || copy.WitnessEntry is not { } witness || policy.MaxCount is not null
            || await _logStore.GetAsync(MeshKeys.HistoryPrefix(group) + witness.Name, ct) is { } held && held.ModRevision == witness.Revision;
        var plan = HistoryCatchUp.Plan(copy, _etcd.ClusterId, current, witnessHeld);
        if (plan.Reason is not null)
        {
            Emit(new ErrorEvent($"history of '{group}': {plan.Reason}; reading it all again and putting back what this home holds and etcd lost"));
        }

        var fetched = new List<HistoryEntry>();
        ValueTask Fetch(IReadOnlyList<HistoryEntry> page)
        {
            fetched.AddRange(page);
            Emit(new HistoryProgressEvent(group, copy.Entries.Count + fetched.Count));
            return ValueTask.CompletedTask;
        }

        var revision = plan.Kind == CatchUpKind.ReadSince
            ? await _history.ReadSinceAsync(group, copy.Revision, Fetch, ct)
            : await _history.ReadAsync(group, Fetch, ct);

        // One order for every view: whatever was read when, it is shown by key (each message's order stamp).
        var merged = HistoryCatchUp.Merge(copy.Entries, fetched);
        // Compared over what the policy keeps (members delete the rest, each at its own time): from the age bound, or
        // from the oldest of the newest entries a count keeps, whichever is later.
        var countFrom = RetentionWindow.Later(ageBound, policy.MaxCount is { } keep && merged.Count >= keep ? merged[^(int)keep].Name : null);
        var heldHere = countFrom is null ? merged.Count : merged.Count(e => string.CompareOrdinal(e.Name, countFrom) >= 0);
        if (plan.Kind == CatchUpKind.ReadSince && await _history.CountAsync(group, revision, ct, countFrom) is { } inEtcd && inEtcd != heldHere)
        {
            // The copy and what etcd held at that revision should be the same set: etcd lost entries the copy holds
            // (a restore that the copy's last noted entry did not reveal), or the copy has a hole. Read it all.
            Emit(new ErrorEvent($"history of '{group}': etcd holds {inEtcd} messages and this home {heldHere}; reading it all again and putting back what etcd lost"));
            plan = new CatchUpPlan(CatchUpKind.Reconcile, "counts differ");
            fetched.Clear();
            revision = await _history.ReadAsync(group, Fetch, ct);
            merged = HistoryCatchUp.Merge(copy.Entries, fetched);
        }

        var bound = ShowHistory(state, merged);

        if (plan.Kind == CatchUpKind.Reconcile)
        {
            // Only what a member of the group sealed, and the policy keeps, goes back: the copy also took whatever an
            // etcd writer once put under the prefix, and that is left where etcd lost it (in the copy too, so the next
            // count agrees).
            var missing = HistoryCatchUp.MissingFromEtcd(copy.Entries, fetched)
                .Where(e => bound is null || string.CompareOrdinal(e.Name, bound) >= 0)
                .Where(e => SealedByMember(state, e)).ToList();
            _local.Replace(group, HistoryCatchUp.Merge(fetched, missing).Where(e => bound is null || string.CompareOrdinal(e.Name, bound) >= 0).ToList(), revision);
            PutBack(group, missing);
        }
        else
        {
            var known = new HashSet<string>(copy.Entries.Select(e => e.Name), StringComparer.Ordinal);
            _local.Append(group, fetched.Where(e => !known.Contains(e.Name)).ToList(), revision);
        }

        state.CopyRevision = revision;
        if (bound is not null && (copyHeld > copy.Entries.Count || copy.Entries.Count > 0 && string.CompareOrdinal(copy.Entries[0].Name, bound) < 0))
        {
            // The copy holds what the policy no longer keeps: dropped from it in the background.
            _retention.TrimLocal(group, bound);
        }

        LogHistoryLoaded(group, copy.Entries.Count, fetched.Count);
        return revision;
    }


    /// <summary>Opens stored entries (in key order) and shows, in that order, what the group's retention keeps of
    /// them; returns where the kept history begins (null: all of it).</summary>
    private string? ShowHistory(GroupState state, IReadOnlyList<HistoryEntry> entries)
    {
        // Signature checks are most of the cost of a long history: they run on every core, and the opened messages
        // are then ordered here, one by one. (Opening only reads the orderer's state.)
        var opened = new Envelope?[entries.Count];
        _keyring.Of(state.Name);
        Parallel.For(0, entries.Count, i => opened[i] = OpenStored(state, entries[i].Name, entries[i].Value));
        // What a count keeps is counted over the messages that open, never over etcd's keys; every one of them
        // (shown or not) tells the window how far the group's own messages have come.
        var now = NowMs;
        var opening = new HashSet<Envelope>(ReferenceEqualityComparer.Instance);
        foreach (var envelope in opened)
        {
            if (envelope is not null)
            {
                state.Window.Offer(envelope, fromOther: envelope.PeerId != PeerId, now);
                opening.Add(envelope);
            }
        }

        var bound = state.Window.ViewBound(now);
        foreach (var envelope in opened)
        {
            if (envelope is not null && (bound is null || string.CompareOrdinal(envelope.HistoryName, bound) >= 0))
            {
                foreach (var ready in state.Orderer.OfferHistory(envelope))
                {
                    Deliver(ready, own: ready.PeerId == PeerId && ready.Epoch == _epoch, counted: opening.Contains(ready));
                }
            }
        }

        return bound;
    }

    /// <summary>Whether a stored entry is a message the group's log says its sender could seal, under its own name.</summary>
    private bool SealedByMember(GroupState state, HistoryEntry entry) =>
        EnvelopeCodec.TryParse(entry.Value) is { } parsed && parsed.Group == state.Name
        && OpenChecked(state, parsed, live: false, out _, out _) is { } opened && opened.HistoryName == entry.Name;

    /// <summary>Writes back, in the background and until it lands, history that this home holds and etcd lost.</summary>
    private void PutBack(string group, List<HistoryEntry> missing)
    {
        if (missing.Count == 0)
        {
            return;
        }

        _ = RetryUntilDone.RunAsync(async ct =>
        {
            foreach (var batch in missing.Chunk(EtcdHistoryStore.MaxOpsPerTransaction))
            {
                await _history.AppendAsync(batch, ct);
            }

            Post(new SessionInput.Notice($"history of '{group}': put back {missing.Count} messages from this home's copy into etcd"));
        },
        (reason, delay) => Post(new SessionInput.Notice($"history of '{group}': putting back {missing.Count} messages failed ({reason}); retrying every {delay.TotalSeconds:F0} s or so")),
        null, _stop.Token);
    }

    private void OnHistoryFetched(SessionInput.HistoryFetched fetched)
    {
        if (!_groups.TryGetValue(fetched.Group, out var state) || !state.Connected)
        {
            return;
        }

        var repaired = state.Orderer.GapsRepaired;
        foreach (var entry in fetched.Page)
        {
            if (OpenStored(state, entry.Name, entry.Value) is { } envelope)
            {
                state.SweepFound++;
                foreach (var ready in state.Orderer.OfferHistory(envelope))
                {
                    Deliver(ready, own: false);
                }
            }
        }

        _instruments.GapsRepaired(state.Name, state.Orderer.GapsRepaired - repaired);
        if (state.Orderer.GapsRepaired > repaired)
        {
            LogRepaired(state.Orderer.GapsRepaired - repaired, fetched.Group);
        }

        if (fetched.Page.Count > 0)
        {
            _local.Append(fetched.Group, fetched.Page, state.CopyRevision);
        }

        if (fetched.CompleteAt is { } revision && state.Sweep is { } sweep)
        {
            CompleteSweep(state, sweep, revision, state.SweepFound);
            state.SweepFound = 0;
        }
    }

    /// <summary>The members watch lost revisions: members as etcd has them now replace what this peer knew.</summary>
    private async Task OnMembersListedAsync(SessionInput.MembersListed listed, CancellationToken ct)
    {
        if (!_groups.TryGetValue(listed.Group, out var state) || !state.Connected)
        {
            return;
        }

        var now = listed.Members.Where(m => m.PeerId != PeerId).GroupBy(m => m.PeerId).ToDictionary(g => g.Key, g => g.Last());
        var changes = state.Members.Keys.Concat(state.Candidates.Keys).Where(p => !now.ContainsKey(p)).Distinct()
            .Select(p => new KeyChange(MeshKeys.Member(listed.Group, p), true, [], 0, 0))
            .Concat(now.Values.Select(m => new KeyChange(MeshKeys.Member(listed.Group, m.PeerId), false, m.ToBytes(), 0, 0)))
            .ToList();
        await OnMembersChangedAsync(new SessionInput.MembersChanged(listed.Group, changes), ct);
    }

    /// <summary>Starts following a prefix; its changes reach the session loop as inputs, in revision order.</summary>
    /// <param name="prefix">What to follow.</param>
    /// <param name="fromRevision">The first revision wanted: the one after the read this watch continues.</param>
    /// <param name="toInput">How a batch of changes reaches the session loop.</param>
    /// <param name="onCompacted">Posted, in order with the changes, when revisions the watch needed were compacted.</param>
    /// <param name="reread">Reads the state again when revisions were compacted; run in the background until it
    /// succeeds, its result is posted.</param>
    private PrefixWatcher Watch(string prefix, long fromRevision, Func<IReadOnlyList<KeyChange>, SessionInput> toInput,
        SessionInput? onCompacted = null, Func<CancellationToken, Task<SessionInput>>? reread = null)
    {
        var watcher = new PrefixWatcher(_etcd, prefix, fromRevision, changes =>
        {
            Post(toInput(changes));
            return ValueTask.CompletedTask;
        }, _logs.CreateLogger("watch"), onCompacted is null && reread is null ? null : (Func<long, ValueTask>)(compactedAt =>
        {
            if (onCompacted is not null)
            {
                Post(onCompacted);
            }

            if (reread is not null)
            {
                _ = RetryUntilDone.RunAsync(async ct => Post(await reread(ct)),
                    (reason, _) => Post(new SessionInput.Notice($"reading {prefix} again after etcd compacted it failed ({reason}); retrying")),
                    null, _stop.Token);
            }

            return ValueTask.CompletedTask;
        }));
        watcher.Start();
        return watcher;
    }

    /// <summary><c>/leave G</c>: a signed leave entry ends this peer's membership (a member who stays starts the next
    /// key epoch), then the group is dropped here.</summary>
    private void Leave(string group)
    {
        if (!_groups.TryGetValue(group, out var state))
        {
            Emit(new ErrorEvent($"not in group '{group}'"));
            return;
        }

        if (state.Leaving)
        {
            Emit(new InfoEvent($"leaving '{group}' already: its log is being written", group));
            return;
        }

        // Nothing more is sent from here on: what this peer sent so far is all its leave lets stand.
        state.Leaving = true;
        if (!state.Log.Members.ContainsKey(PeerId))
        {
            Post(new SessionInput.Continue(() => LeftAsync(state, _stop.Token)));
            return;
        }

        Commit(state, LeavingOf(state));
    }

    private CommitIntent LeavingOf(GroupState state) =>
        new($"leaving '{state.Name}'", log => log.Members.ContainsKey(PeerId)
            ? GroupCommits.Leave(log, _identity, NowMs, GroupLog.CutOf(state.Streams.Of(PeerId).Append((_epoch, _sender?.LastSeq(state.Name) ?? 0))))
            : null, [])
        {
            Then = end =>
            {
                if (end != CommitEnd.GaveUp)
                {
                    return LeftAsync(state, _stop.Token);
                }

                Commit(state, LeavingOf(state));
                return Task.CompletedTask;
            },
        };

    private async Task LeftAsync(GroupState state, CancellationToken ct)
    {
        if (!_groups.ContainsKey(state.Name))
        {
            return;
        }

        await DropGroupAsync(state, ct);
        Emit(new MemberEvent(state.Name, _name, PeerId, Joined: false, MemberEvent.Left));
    }

    /// <summary>Stops following a group and withdraws this peer's presence in it.</summary>
    private async Task DropGroupAsync(GroupState state, CancellationToken ct)
    {
        _groups.Remove(state.Name);
        state.Left = true;
        state.Committer.Clear();
        _keyRecovery.Forget(state.Name);
        _retention.Forget(state.Name);
        await StopWatchesAsync(state);
        ApplyLinks();
        await _registration.DeleteAsync(MeshKeys.Member(state.Name, PeerId), ct);
        if (_current == state.Name)
        {
            _current = _groups.Keys.FirstOrDefault();
        }
    }

    /// <summary>Emits ready once history is loaded and every member known at join has said hello (or time is up).</summary>
    private void TryReady(GroupState state, long now)
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
        var peers = state.Members.Values.Select(m => new MemberId(Label(state, m.PeerId, m.Name), m.PeerId))
            .Append(new MemberId(Label(state, PeerId, _name), PeerId)).OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
        Emit(new ReadyEvent(state.Name, peers.Select(p => p.Name).ToList(), peers));
        if (state.AwaitingLinks.Count > 0)
        {
            var missing = string.Join(", ", state.AwaitingLinks.Select(p => state.Members.TryGetValue(p, out var m) ? Label(state, p, m.Name) : p));
            Emit(new ErrorEvent($"group '{state.Name}': not connected yet to {missing}; still trying"));
        }
    }

    /// <summary>A link to a member dropped (heartbeat timeout, closed connection) or is being re-established.</summary>
    private void OnLinkTrouble(string peerId, bool retrying)
    {
        var news = _links.OnTrouble(peerId, retrying);
        if (news == LinkNews.None || NameOf(peerId) is not { } name)
        {
            return;
        }

        if (news == LinkNews.Lost)
        {
            NoteLinkGap(peerId);
            Emit(new ConnectionEvent(name, ConnectionState.Disconnected, Kind: ConnectionKind.Member));
            ReportLinks();
        }
        else
        {
            Emit(new ConnectionEvent(name, ConnectionState.Reconnecting, Kind: ConnectionKind.Member));
        }
    }

    private string? NameOf(string peerId) =>
        _groups.Values.Where(g => g.Members.ContainsKey(peerId)).Select(g => Label(g, peerId, g.Members[peerId].Name)).FirstOrDefault();

    /// <summary>Tells the user how many of the members followed have a working link, when that changes.</summary>
    private void ReportLinks()
    {
        var links = (_links.UpCount, _links.Known);
        if (links != _linksReported)
        {
            _linksReported = links;
            _instruments.Links(links.UpCount, links.Known);
            Emit(new LinksEvent(links.UpCount, links.Known));
        }
    }

    private void OnLinkUp(string peerId)
    {
        var news = _links.OnUp(peerId);
        if (news == LinkNews.None)
        {
            return;
        }

        if (news == LinkNews.Back && NameOf(peerId) is { } name)
        {
            NoteLinkGap(peerId);
            _instruments.Reconnected("member");
            Emit(new ConnectionEvent(name, ConnectionState.Reconnected, Kind: ConnectionKind.Member));
        }

        ReportLinks();
        var now = NowMs;
        foreach (var state in _groups.Values)
        {
            if (state.AwaitingLinks.Remove(peerId))
            {
                TryReady(state, now);
            }
        }
    }

    private Task OnMembersChangedAsync(SessionInput.MembersChanged changed, CancellationToken ct)
    {
        if (!_groups.TryGetValue(changed.Group, out var state) || !state.Connected)
        {
            return Task.CompletedTask;
        }

        foreach (var change in GroupDirectory.ToMemberChanges(changed.Group, changed.Changes))
        {
            if (change.PeerId == PeerId)
            {
                continue;
            }

            if (change.Record is { } record)
            {
                // Present again: how it last went (a clean exit) says nothing of how it goes next.
                _exiting.Remove(change.PeerId);
                var sorted = Sort(state, record);
                if (sorted == MemberSort.Moved)
                {
                    _links.OnMoved(change.PeerId);
                }
                else if (sorted == MemberSort.NewMember && state.Ready)
                {
                    Emit(new MemberEvent(state.Name, Label(state, record.PeerId, record.Name), record.PeerId, Joined: true));
                }
            }
            else
            {
                if (state.Table.Gone(change.PeerId) is { } gone)
                {
                    state.AwaitingLinks.Remove(change.PeerId);
                    if (state.Ready)
                    {
                        var reason = _exiting.Contains(change.PeerId) ? MemberEvent.Exited : MemberEvent.Expired;
                        Emit(new MemberEvent(state.Name, Label(state, gone.PeerId, gone.Name), gone.PeerId, Joined: false, reason));
                    }
                }
            }
        }

        ApplyLinks();
        TryReady(state, NowMs);
        return Task.CompletedTask;
    }

    /// <summary>Files a member record (see <see cref="MemberTable"/>): a candidate is scheduled for admission, a record
    /// that is not signed or not the log's is ignored with a rate-limited warning.</summary>
    private MemberSort Sort(GroupState state, MemberRecord record)
    {
        var sorted = state.Table.Sort(record, state.Log);
        switch (sorted)
        {
            case MemberSort.NotSigned:
                _warnings.Warn($"record:{record.PeerId}", $"group '{state.Name}': ignored a member record for {Naming.Printable(record.PeerId)} that is not signed by its peer");
                break;
            case MemberSort.KeysNotTheLogs:
                _warnings.Warn($"keys:{record.PeerId}", $"group '{state.Name}': ignored a record of {Label(state, record.PeerId, record.Name)} with keys other than the group log's");
                break;
            case MemberSort.Unfit:
                _ = Newcomer.TryFrom(record, state.Log, out var why);
                _warnings.Warn($"unfit:{record.PeerId}", $"group '{state.Name}': the presence record of {Naming.Printable(record.PeerId)} cannot be admitted ({why}); ignoring it");
                break;
            case MemberSort.Candidate:
                Schedule(state, record.PeerId);
                break;
        }

        return sorted;
    }

    private static bool IsMember(MemberSort sorted) => sorted is MemberSort.Member or MemberSort.NewMember or MemberSort.Moved;

    /// <summary>Tells the node the members it should follow now: every member of every joined group.</summary>
    private void ApplyLinks()
    {
        var wanted = new Dictionary<string, (MemberRecord Record, HashSet<string> Groups)>(StringComparer.Ordinal);
        foreach (var state in _groups.Values.Where(s => s.Connected))
        {
            foreach (var (peerId, record) in state.Members)
            {
                if (!wanted.TryGetValue(peerId, out var entry))
                {
                    wanted[peerId] = entry = (record, new HashSet<string>(StringComparer.Ordinal));
                }

                entry.Groups.Add(state.Name);
            }
        }

        _links.Follow(wanted.Keys);
        var links = new List<LinkSpec>(wanted.Count);
        foreach (var (peerId, (record, groups)) in wanted)
        {
            if (!_links.Linkable(peerId))
            {
                continue;
            }

            byte[] key;
            try
            {
                key = NetMQCertificate.FromPublicKey(record.PublicKeyZ85).PublicKey;
            }
            catch (Exception e) when (e is ArgumentException or FormatException or IndexOutOfRangeException)
            {
                continue;
            }

            // An endpoint from etcd is untrusted: only tcp://HOST:PORT reaches a socket, and a name is resolved in
            // the background, never on the poller, which would stall every link while it waits.
            if (PeerEndpoint.TryParse(record.Endpoint, out var invalid) is not { } endpoint)
            {
                _warnings.Warn($"endpoint:{peerId}", $"not linking to {record.Name} ({peerId}): its endpoint '{Naming.Printable(record.Endpoint)}' is refused ({invalid})");
                continue;
            }

            if (_resolver.AddressOf(endpoint, out var unresolved) is not { } address)
            {
                if (unresolved != "resolving")
                {
                    _warnings.Warn($"resolve:{peerId}", $"not linking to {record.Name} ({peerId}) yet: {unresolved}; trying again in a minute");
                }

                continue;
            }

            links.Add(new LinkSpec(peerId, endpoint.ConnectTo(address), key, groups));
        }

        _node.SetLinks(links);
        ReportLinks();
    }

    /// <summary>Writes this peer's link states (leased, for mesh monitor) when they differ from what was last written,
    /// one write at a time. Called every tick: which links are up can change while their count stays the same.</summary>
    private void WriteLinksIfChanged()
    {
        if (_etcdDown || _linksWrite is { IsCompleted: false })
        {
            return;
        }

        if (_linksWriteFailed)
        {
            _linksWriteFailed = false;
            _linkReport.Forget();
        }

        var nowUs = LinkRtt.NowUs;
        var states = _links.Snapshot();
        var rtt = states.Up.Select(p => (Peer: p, Rtt: Rtt.Of(p, nowUs))).Where(r => r.Rtt is not null)
            .ToDictionary(r => r.Peer, r => Math.Round(r.Rtt!.Value.TotalMilliseconds, 2), StringComparer.Ordinal);
        var record = states with { Rtt = rtt };
        if (!_linkReport.Due(record, NowMs))
        {
            return;
        }

        _linkReport.Written(record, NowMs);
        _linksWrite = WriteLinksAsync(record.ToBytes());
    }

    private async Task WriteLinksAsync(byte[] value)
    {
        try
        {
            await _registration.PutAsync(MeshKeys.Links(PeerId), value, _stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or EtcdUnavailableException or Grpc.Core.RpcException)
        {
            // Written again at the next tick after etcd is back.
            _linksWriteFailed = true;
        }
    }

    /// <summary>Tells watchers this exit is clean: the lease is revoked next, not left to expire.</summary>
    private async Task MarkLeavingAsync()
    {
        if (_etcdDown)
        {
            return;
        }

        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await _registration.PutAsync(MeshKeys.Leaving(PeerId), [], deadline.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or EtcdUnavailableException or Grpc.Core.RpcException or InvalidOperationException)
        {
            // Then the watcher sees an expiry: a fair account of an exit etcd did not hear about.
        }
    }
}
