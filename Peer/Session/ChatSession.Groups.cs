using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Coordinator.Membership;
using Mesh.Peer.Configuration;
using Mesh.Peer.Crypto;
using Mesh.Peer.Protocol;
using Mesh.Peer.Identity;
using Mesh.Peer.Node;
using NetMQ;

namespace Mesh.Peer.Session;

public sealed partial class ChatSession
{
    /// <summary>Joins a group: admission (the group key), presence, then links, history and watches.</summary>
    /// <remarks>
    /// Admission comes first: a group that does not exist is created with a fresh key; otherwise the key is the one
    /// this peer already holds, one it redeems from an invite, or one a member wrapped to it. Without any of these
    /// the peer registers (so members see it) and waits for a member to hand the key over (open groups only).
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
            state.Key = _keyring.TryGet(group);
            state.Record = await _directory.GetGroupAsync(group, ct);
            if (state.Record is null)
            {
                var fresh = GroupKey.Create();
                var record = new GroupRecord(NowMs, _name, request.Private ? GroupRecord.Private : GroupRecord.Open, fresh.Check(group));
                if (await _directory.EnsureGroupAsync(group, record, ct))
                {
                    _keyring.Save(group, fresh);
                    state.Key = fresh;
                }

                state.Record = await _directory.GetGroupAsync(group, ct)
                    ?? throw new MeshException($"group '{group}' has an unreadable directory entry in etcd");
            }

            if (state.Key is not null && state.Key.Check(group) != state.Record.KeyCheck)
            {
                throw new MeshException($"the key held for '{group}' in {_options.Home} is not the group's key (was the group deleted and created again?)");
            }

            if (state.Key is null && request.Invite is { } invite)
            {
                state.Key = await RedeemInviteAsync(group, state.Record, invite, ct);
            }

            state.Key ??= await TryAcceptGrantAsync(group, state.Record, ct);
            if (state.Key is null && state.Record.IsPrivate)
            {
                throw new MeshException($"group '{group}' is private: ask a member to run 'mesh invite {group}' and join with --invite CODE");
            }

            await _registration.PutAsync(MeshKeys.Member(group, PeerId), OwnRecord().ToBytes(), ct);
            if (state.Key is null)
            {
                // Open group, no key yet: any online member wraps it to us once it sees us registered.
                Emit(new WaitingEvent(group, $"waiting for a member of '{group}' to admit you (any online member hands over the group key)"));
                state.GrantWatch = Watch(MeshKeys.KeyGrant(group, PeerId), 1, changes => new SessionInput.KeyGranted(group, changes));
                return;
            }

            await ConnectAndLoadAsync(state, ct);
        }
        catch
        {
            _groups.Remove(group);
            await StopWatchesAsync(state);
            ApplyLinks();
            throw;
        }
    }

    /// <summary>With the key in hand: members, links, history, watches; then admit whoever waits for the key.</summary>
    private async Task ConnectAndLoadAsync(GroupState state, CancellationToken ct)
    {
        var group = state.Name;
        var (members, revision) = await _directory.ListMembersAsync(group, ct);
        foreach (var member in members.Where(m => m.PeerId != PeerId && IsGenuine(m)))
        {
            state.Members[member.PeerId] = member;
            CheckKnown(member.Name, member.SigningKey);
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
        foreach (var member in state.Members.Values)
        {
            await AdmitAsync(state, member, ct);
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

    private async Task<GroupKey?> TryAcceptGrantAsync(string group, GroupRecord record, CancellationToken ct)
    {
        var grant = await _directory.GetAsync(MeshKeys.KeyGrant(group, PeerId), ct);
        return grant is null ? null : AcceptGrant(group, record, grant);
    }

    /// <summary>Unwraps a key granted to this peer; keeps it only if it is the group's key (its check matches).</summary>
    private GroupKey? AcceptGrant(string group, GroupRecord record, byte[] grant)
    {
        var key = KeyWrap.TryUnwrap(grant, group, PeerId, _identity.Certificate.SecretKey!, _identity.Certificate.PublicKey);
        if (key is null || key.Check(group) != record.KeyCheck)
        {
            Emit(new ErrorEvent($"group '{group}': a key grant for this peer is not the group's key; ignored"));
            return null;
        }

        _keyring.Save(group, key);
        return key;
    }

    private async Task<GroupKey> RedeemInviteAsync(string group, GroupRecord record, string code, CancellationToken ct)
    {
        var invite = Invite.Parse(code);
        var sealedKey = await _directory.GetAsync(MeshKeys.Invite(group, invite.Id), ct)
            ?? throw new MeshException($"--invite: no such invite for '{group}' (already used, or for another group)");
        var key = invite.TryOpen(sealedKey, group);
        if (key is null || key.Check(group) != record.KeyCheck)
        {
            throw new MeshException($"--invite: the invite does not open '{group}'");
        }

        _keyring.Save(group, key);
        // Invites are single-use: the sealed key leaves etcd as soon as it has served.
        await _directory.DeleteAsync(MeshKeys.Invite(group, invite.Id), ct);
        return key;
    }

    /// <summary>Reconciles a group after its watch missed revisions: members as etcd has them now, and any history
    /// not yet shown (copies are dropped by the orderer).</summary>
    private async Task ResyncAsync(SessionInput.Resync resync, CancellationToken ct)
    {
        if (!_groups.TryGetValue(resync.Group, out var state) || state.Key is null)
        {
            return;
        }

        if (resync.Members)
        {
            var (members, _) = await _directory.ListMembersAsync(resync.Group, ct);
            var now = members.Where(m => m.PeerId != PeerId && IsGenuine(m)).ToDictionary(m => m.PeerId);
            var changes = state.Members.Keys.Where(p => !now.ContainsKey(p)).Select(p => new KeyChange(MeshKeys.Member(resync.Group, p), true, [], 0, 0))
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

    private async Task OnKeyGrantedAsync(SessionInput.KeyGranted granted, CancellationToken ct)
    {
        if (!_groups.TryGetValue(granted.Group, out var state) || state.Key is not null || state.Record is null)
        {
            return;
        }

        foreach (var change in granted.Changes.Where(c => !c.IsDelete))
        {
            if (AcceptGrant(granted.Group, state.Record, change.Value) is { } key)
            {
                state.Key = key;
                if (state.GrantWatch is not null)
                {
                    await state.GrantWatch.DisposeAsync();
                    state.GrantWatch = null;
                }

                await ConnectAndLoadAsync(state, ct);
                return;
            }
        }
    }

    /// <summary>Hands the key of an open group to a member that has none yet (create-only: once, whoever is first).</summary>
    private async Task AdmitAsync(GroupState state, MemberRecord member, CancellationToken ct)
    {
        if (state.Key is null || state.Record is null || state.Record.IsPrivate)
        {
            return;
        }

        byte[] curveKey;
        try
        {
            curveKey = NetMQCertificate.FromPublicKey(member.PublicKeyZ85).PublicKey;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IndexOutOfRangeException)
        {
            return;
        }

        var grantKey = MeshKeys.KeyGrant(state.Name, member.PeerId);
        if (await _directory.GetAsync(grantKey, ct) is null)
        {
            await _directory.CreateAsync(grantKey, KeyWrap.Wrap(state.Key, state.Name, member.PeerId, curveKey), ct);
        }
    }

    /// <summary>A member record is genuine when its peer id is the hash of its signing key.</summary>
    private static bool IsGenuine(MemberRecord record)
    {
        try
        {
            return PeerIdentity.DerivePeerId(Convert.FromBase64String(record.SigningKey)) == record.PeerId;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private void CheckKnown(string name, string signingKeyBase64)
    {
        try
        {
            CheckKnown(name, Convert.FromBase64String(signingKeyBase64));
        }
        catch (FormatException)
        {
        }
    }

    private void CheckKnown(string name, byte[] signingKey)
    {
        if (_knownPeers.Check(name, PeerIdentity.FingerprintOf(signingKey)) is { } warning)
        {
            Emit(new ErrorEvent(warning));
        }
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

    private async Task LeaveAsync(string group, CancellationToken ct)
    {
        if (!_groups.Remove(group, out var state))
        {
            Emit(new ErrorEvent($"not in group '{group}'"));
            return;
        }

        await StopWatchesAsync(state);
        ApplyLinks();
        await _registration.DeleteAsync(MeshKeys.Member(group, PeerId), ct);
        Emit(new MemberEvent(group, _name, Joined: false));
        if (_current == group)
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
        var names = state.Members.Values.Select(m => m.Name).Append(_name).Order(StringComparer.Ordinal).ToList();
        Emit(new ReadyEvent(state.Name, names));
        if (state.AwaitingLinks.Count > 0)
        {
            var missing = string.Join(", ", state.AwaitingLinks.Select(p => state.Members.TryGetValue(p, out var m) ? m.Name : p));
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
        _groups.Values.Select(g => g.Members.GetValueOrDefault(peerId)).FirstOrDefault(m => m is not null)?.Name;

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

    private async Task OnMembersChangedAsync(SessionInput.MembersChanged changed, CancellationToken ct)
    {
        if (!_groups.TryGetValue(changed.Group, out var state))
        {
            return;
        }

        var admit = new List<MemberRecord>();
        foreach (var change in GroupDirectory.ToMemberChanges(changed.Group, changed.Changes))
        {
            if (change.PeerId == PeerId)
            {
                continue;
            }

            if (change.Record is { } record)
            {
                if (!IsGenuine(record))
                {
                    continue;
                }

                var known = state.Members.TryGetValue(change.PeerId, out var before);
                if (known && (before!.Endpoint != record.Endpoint || before.PublicKeyZ85 != record.PublicKeyZ85))
                {
                    // It came back from elsewhere: its old link is useless until a new hello arrives.
                    _linksUp.Remove(change.PeerId);
                }

                state.Members[change.PeerId] = record;
                if (!known)
                {
                    CheckKnown(record.Name, record.SigningKey);
                    admit.Add(record);
                    if (state.Ready)
                    {
                        Emit(new MemberEvent(state.Name, record.Name, Joined: true));
                    }
                }
            }
            else if (state.Members.Remove(change.PeerId, out var gone))
            {
                state.AwaitingLinks.Remove(change.PeerId);
                if (state.Ready)
                {
                    Emit(new MemberEvent(state.Name, gone.Name, Joined: false));
                }
            }
        }

        ApplyLinks();
        TryReady(state, NowMs);
        foreach (var record in admit)
        {
            await AdmitAsync(state, record, ct);
        }
    }

    /// <summary>Tells the node the members it should follow now: every member of every joined group.</summary>
    private void ApplyLinks()
    {
        var wanted = new Dictionary<string, (MemberRecord Record, HashSet<string> Groups)>(StringComparer.Ordinal);
        foreach (var state in _groups.Values.Where(s => s.Key is not null))
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
