using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Coordinator.Membership;
using Mesh.Peer.Configuration;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
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
            if (genesis is null && copy is null)
            {
                if (invite is not null)
                {
                    throw new MeshException($"invite: group '{group}' does not exist in etcd at {_etcd.Describe}");
                }

                var commit = GroupCommits.Genesis(group, request.Private ? LogEntry.Private : LogEntry.Open, _identity, _name, NowMs);
                if (await _logStore.TryAppendAsync(group, 0, commit.Record, [], ct))
                {
                    _keyring.Save(group, [(1, commit.NewKey!)]);
                    created = true;
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

            state.Log = merged.Log ?? throw new MeshException($"group '{group}': no valid group log in etcd; not joining it");
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
            state.LogWatch = Watch(MeshKeys.LogPrefix(group), revision + 1, changes => new SessionInput.LogChanged(group, changes));
            state.GenesisWatch = Watch(MeshKeys.Group(group), revision + 1, changes => new SessionInput.LogChanged(group, changes));
            var (grants, grantsRevision) = await _logStore.ListAsync(MeshKeys.GrantsPrefix(group, PeerId), 100_000, ct);
            state.GrantWatch = Watch(MeshKeys.GrantsPrefix(group, PeerId), grantsRevision + 1, changes => new SessionInput.KeyGranted(group, changes));
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
        state.AdmitWatch = Watch(MeshKeys.AdmitPrefix(state.Name), revision + 1, changes => new SessionInput.AdmissionRequests(state.Name, changes));

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
            if (!Sort(state, member))
            {
                continue;
            }

            if (!_linksUp.Contains(member.PeerId))
            {
                state.AwaitingLinks.Add(member.PeerId);
            }
        }

        ApplyLinks();
        state.MembersWatch = Watch(MeshKeys.MembersPrefix(group), revision + 1, changes => new SessionInput.MembersChanged(group, changes),
            new SessionInput.Resync(group, Members: true));

        var historyRevision = await LoadHistoryAsync(state, ct);
        state.HistoryWatch = Watch(MeshKeys.HistoryPrefix(group), historyRevision + 1, changes => new SessionInput.HistoryChanged(group, changes),
            new SessionInput.Resync(group, Members: false));
        state.HistoryLoaded = true;
        state.JoinStartedMs = NowMs;
        TryReady(state, NowMs);
        foreach (var candidate in state.Candidates.Keys)
        {
            Schedule(state, candidate);
        }
    }

    /// <summary>Shows the group's history: the local copy first, then only what etcd has beyond it (all of it, in
    /// time order, the first time); the copy is extended with what was fetched. Returns the revision read at.</summary>
    private async Task<long> LoadHistoryAsync(GroupState state, CancellationToken ct)
    {
        var group = state.Name;
        long loaded = 0;
        void Show(IReadOnlyList<HistoryEntry> page)
        {
            loaded += page.Count;
            Emit(new HistoryProgressEvent(group, loaded));
            // Signature checks are most of the cost of a long history: they run on every core, and the opened
            // messages are then ordered here, one by one, as before. (Opening only reads the orderer's state.)
            var opened = new Envelope?[page.Count];
            _keyring.Of(group);
            Parallel.For(0, page.Count, i => opened[i] = OpenStored(state, page[i].Name, page[i].Value));
            foreach (var envelope in opened)
            {
                if (envelope is not null)
                {
                    foreach (var ready in state.Orderer.OfferHistory(envelope))
                    {
                        Deliver(ready, own: ready.PeerId == PeerId && ready.Epoch == _epoch);
                    }
                }
            }
        }

        var (local, localRevision) = _local.Load(group);
        foreach (var page in local.Chunk(EtcdHistoryStore.PageSize))
        {
            Show(page);
        }

        var fetched = new List<HistoryEntry>();
        ValueTask Fetch(IReadOnlyList<HistoryEntry> page)
        {
            fetched.AddRange(page);
            Show(page);
            return ValueTask.CompletedTask;
        }

        var revision = localRevision == 0
            ? await _history.ReadAsync(group, Fetch, ct)
            : await _history.ReadSinceAsync(group, localRevision, Fetch, ct);
        _local.Append(group, fetched, revision);
        LogHistoryLoaded(group, local.Count, fetched.Count);
        return revision;
    }

    /// <summary>Reconciles a group after its watch missed revisions: members as etcd has them now, and any history
    /// not yet shown (copies are dropped by the orderer).</summary>
    private async Task ResyncAsync(SessionInput.Resync resync, CancellationToken ct)
    {
        if (!_groups.TryGetValue(resync.Group, out var state) || !state.Connected)
        {
            return;
        }

        if (resync.Members)
        {
            var (members, _) = await _directory.ListMembersAsync(resync.Group, ct);
            var now = members.Where(m => m.PeerId != PeerId).ToDictionary(m => m.PeerId);
            var changes = state.Members.Keys.Concat(state.Candidates.Keys).Where(p => !now.ContainsKey(p)).Select(p => new KeyChange(MeshKeys.Member(resync.Group, p), true, [], 0, 0))
                .Concat(now.Values.Select(m => new KeyChange(MeshKeys.Member(resync.Group, m.PeerId), false, m.ToBytes(), 0, 0)))
                .ToList();
            await OnMembersChangedAsync(new SessionInput.MembersChanged(resync.Group, changes), ct);
            return;
        }

        var repaired = state.Orderer.GapsRepaired;
        var (_, localRevision) = _local.Load(resync.Group);
        var fetched = new List<HistoryEntry>();
        var revision = await _history.ReadSinceAsync(resync.Group, localRevision, page =>
        {
            fetched.AddRange(page);
            foreach (var entry in page)
            {
                if (OpenStored(state, entry.Name, entry.Value) is { } envelope)
                {
                    foreach (var ready in state.Orderer.OfferHistory(envelope))
                    {
                        Deliver(ready, own: false);
                    }
                }
            }

            return ValueTask.CompletedTask;
        }, ct);
        _local.Append(resync.Group, fetched, revision);
        _instruments.GapsRepaired(state.Name, state.Orderer.GapsRepaired - repaired);
    }

    /// <summary>Starts following a prefix; its changes reach the session loop as inputs, in revision order.</summary>
    /// <param name="prefix">What to follow.</param>
    /// <param name="fromRevision">The first revision wanted: the one after the read this watch continues.</param>
    /// <param name="toInput">How a batch of changes reaches the session loop.</param>
    /// <param name="onCompacted">Posted when revisions the watch needed were compacted: the state must be re-read.</param>
    private PrefixWatcher Watch(string prefix, long fromRevision, Func<IReadOnlyList<KeyChange>, SessionInput> toInput, SessionInput? onCompacted = null)
    {
        var watcher = new PrefixWatcher(_etcd, prefix, fromRevision, changes =>
        {
            Post(toInput(changes));
            return ValueTask.CompletedTask;
        }, _logs.CreateLogger("watch"), onCompacted is null ? null : _ =>
        {
            Post(onCompacted);
            return ValueTask.CompletedTask;
        });
        watcher.Start();
        return watcher;
    }

    /// <summary><c>/leave G</c>: a signed leave entry ends this peer's membership (a member who stays starts the next
    /// key epoch), then the group is dropped here.</summary>
    private async Task LeaveAsync(string group, CancellationToken ct)
    {
        if (!_groups.TryGetValue(group, out var state))
        {
            Emit(new ErrorEvent($"not in group '{group}'"));
            return;
        }

        if (state.Log.Members.ContainsKey(PeerId)
            && !await CommitAsync(state, log => log.Members.ContainsKey(PeerId) ? GroupCommits.Leave(log, _identity, NowMs) : null, ct))
        {
            Emit(new ErrorEvent($"/leave: could not record leaving '{group}' in its log (etcd unreachable?); still a member"));
            return;
        }

        await DropGroupAsync(state, ct);
        Emit(new MemberEvent(group, _name, PeerId, Joined: false, MemberEvent.Left));
    }

    /// <summary>Stops following a group and withdraws this peer's presence in it.</summary>
    private async Task DropGroupAsync(GroupState state, CancellationToken ct)
    {
        _groups.Remove(state.Name);
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
        if (NameOf(peerId) is not { } name)
        {
            return;
        }

        if (!retrying)
        {
            _linksUp.Remove(peerId);
            if (!_linksDown.ContainsKey(peerId))
            {
                _linksDown[peerId] = false;
                Emit(new ConnectionEvent(name, ConnectionState.Disconnected, Kind: ConnectionKind.Member));
                ReportLinks();
            }
        }
        else if (_linksDown.TryGetValue(peerId, out var reported) && !reported)
        {
            // Once per outage: NetMQ retries on its own schedule (100 ms growing to 5 s).
            _linksDown[peerId] = true;
            Emit(new ConnectionEvent(name, ConnectionState.Reconnecting, Kind: ConnectionKind.Member));
        }
    }

    private string? NameOf(string peerId) =>
        _groups.Values.Where(g => g.Members.ContainsKey(peerId)).Select(g => Label(g, peerId, g.Members[peerId].Name)).FirstOrDefault();

    /// <summary>Tells the user how many of the members followed have a working link, when that changes.</summary>
    private void ReportLinks()
    {
        var known = _groups.Values.SelectMany(g => g.Members.Keys).Distinct().Count();
        var links = (_linksUp.Count, known);
        if (links != _links)
        {
            _links = links;
            _instruments.Links(links.Count, known);
            Emit(new LinksEvent(links.Count, known));
        }
    }

    private void OnLinkUp(string peerId)
    {
        _linksUp.Add(peerId);
        if (_linksDown.Remove(peerId) && NameOf(peerId) is { } name)
        {
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
                var known = state.Members.TryGetValue(change.PeerId, out var before);
                if (!Sort(state, record))
                {
                    continue;
                }

                if (known && (before!.Endpoint != record.Endpoint || before.PublicKeyZ85 != record.PublicKeyZ85))
                {
                    // It came back from elsewhere: its old link is useless until a new hello arrives.
                    _linksUp.Remove(change.PeerId);
                }

                if (!known && state.Members.ContainsKey(change.PeerId) && state.Ready)
                {
                    Emit(new MemberEvent(state.Name, Label(state, record.PeerId, record.Name), record.PeerId, Joined: true));
                }
            }
            else
            {
                state.Candidates.Remove(change.PeerId);
                if (state.Members.Remove(change.PeerId, out var gone))
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

    /// <summary>Files a member record: a member's (signed, with the keys the log pinned) is followed; a non-member's
    /// (signed) is a candidate an open group may admit; anything else is ignored with a rate-limited warning. True when
    /// it is a member's.</summary>
    private bool Sort(GroupState state, MemberRecord record)
    {
        if (!MemberSignature.IsValid(record, state.Name))
        {
            _warnings.Warn($"record:{record.PeerId}", $"group '{state.Name}': ignored a member record for {Naming.Printable(record.PeerId)} that is not signed by its peer");
            return false;
        }

        if (MemberSignature.IsMember(record, state.Log))
        {
            state.Candidates.Remove(record.PeerId);
            state.Members[record.PeerId] = record;
            return true;
        }

        if (!state.Log.Members.ContainsKey(record.PeerId) && !state.Log.WasRemoved(record.PeerId))
        {
            state.Candidates[record.PeerId] = record;
            Schedule(state, record.PeerId);
        }
        else if (state.Log.Members.ContainsKey(record.PeerId))
        {
            _warnings.Warn($"keys:{record.PeerId}", $"group '{state.Name}': ignored a record of {Label(state, record.PeerId, record.Name)} with keys other than the group log's");
        }

        return false;
    }

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

        foreach (var peerId in _linksUp.Where(p => !wanted.ContainsKey(p)).ToList())
        {
            _linksUp.Remove(peerId);
        }

        foreach (var peerId in _linksDown.Keys.Where(p => !wanted.ContainsKey(p)).ToList())
        {
            _linksDown.Remove(peerId);
        }

        var links = new List<LinkSpec>(wanted.Count);
        foreach (var (peerId, (record, groups)) in wanted)
        {
            byte[] key;
            try
            {
                key = NetMQCertificate.FromPublicKey(record.PublicKeyZ85).PublicKey;
            }
            catch (Exception e) when (e is ArgumentException or FormatException or IndexOutOfRangeException)
            {
                continue;
            }

            links.Add(new LinkSpec(peerId, record.Endpoint, key, groups));
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
            _linksWritten = null;
        }

        var known = _groups.Values.SelectMany(g => g.Members.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var record = new LinkStates(known.Where(_linksUp.Contains).ToList(), known.Where(p => !_linksUp.Contains(p)).ToList());
        if (_linksWritten is { } written && written.Up.SequenceEqual(record.Up) && written.Down.SequenceEqual(record.Down))
        {
            return;
        }

        _linksWritten = record;
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
