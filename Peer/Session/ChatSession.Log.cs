using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Peer.Configuration;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary>The session's side of the group log: applying entries as they come, committing the changes this peer
/// makes (admissions, rotations, removals, leaving), taking key grants, and putting back what etcd lost or altered.</summary>
public sealed partial class ChatSession
{
    /// <summary>How many times a commit is tried again after another member took the index it wanted.</summary>
    private const int CommitAttempts = 5;

    private string Label(GroupState state, string peerId, string name) => DisplayNames.Label(state.Log, peerId, name);

    /// <summary>Puts back log entries etcd lost or holds altered, from the log this peer trusts, in the background. At
    /// most once a second per entry (an etcd writer rewriting in a loop costs it writes, not this peer a storm); an entry
    /// held back is put back at a later tick.</summary>
    private void Repair(GroupState state, IReadOnlyList<long> indexes, CancellationToken ct)
    {
        foreach (var index in indexes)
        {
            state.PendingRepairs.Add(index);
        }

        RepairDue(state, ct);
    }

    private void RepairDue(GroupState state, CancellationToken ct)
    {
        foreach (var index in state.PendingRepairs.ToList())
        {
            if (state.RepairedAtMs.TryGetValue(index, out var last) && NowMs - last < 1000)
            {
                continue;
            }

            state.PendingRepairs.Remove(index);
            state.RepairedAtMs[index] = NowMs;
            var (group, record) = (state.Name, state.Log.RecordAt(index));
            _ = Task.Run(async () =>
            {
                try
                {
                    await _logStore.RepairAsync(group, index, record, ct);
                    LogRepairedEntry(index, group);
                }
                catch (Exception e) when (e is EtcdUnavailableException or OperationCanceledException)
                {
                    // The next read of the log (a watch change, a join) names it again.
                }
            }, CancellationToken.None);
        }
    }

    /// <summary>Redeems an invite: deletes its record and writes this peer's admission request in one transaction, so
    /// that two redeemers cannot both use it.</summary>
    private async Task RedeemInviteAsync(GroupState state, Invite invite, CancellationToken ct)
    {
        var group = state.Name;
        var read = await _logStore.GetAsync(MeshKeys.Invite(group, invite.Id), ct);
        if (read is null)
        {
            // Redeemed by this peer already (a join tried again, or a restart before a member admitted it): wait for that.
            if (await _logStore.GetAsync(MeshKeys.Admit(group, PeerId), ct) is { } mine
                && AdmissionRequest.TryParse(mine.Value, group) is { } request && request.Invite.Id == invite.Id && request.PeerId == PeerId)
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

        if (record.ExpiresAtMs < NowMs)
        {
            throw new MeshException($"invite: the invite for '{group}' expired at {DateTimeOffset.FromUnixTimeMilliseconds(record.ExpiresAtMs):yyyy-MM-dd HH:mm} UTC");
        }

        var redeemed = AdmissionRequest.Create(group, invite, read.Value.Value, _identity, _name, NowMs);
        if (!await _logStore.RedeemAsync(MeshKeys.Invite(group, invite.Id), read.Value.ModRevision, MeshKeys.Admit(group, PeerId), redeemed, ct))
        {
            throw new MeshException($"invite: the invite for '{group}' was just used by someone else (an invite admits once)");
        }
    }

    private async Task OnKeyGrantedAsync(SessionInput.KeyGranted granted, CancellationToken ct)
    {
        if (!_groups.TryGetValue(granted.Group, out var state))
        {
            return;
        }

        AcceptGrants(state, granted.Changes.Where(c => !c.IsDelete).Select(c => c.Value));
        await AfterKeysAsync(state, ct);
    }

    /// <summary>Keeps every grant that the log vouches for; grants for epochs the log does not have yet wait for it.</summary>
    private void AcceptGrants(GroupState state, IEnumerable<byte[]> records)
    {
        var accepted = new List<(long, GroupKey)>();
        foreach (var record in records)
        {
            if (KeyGrant.TryParse(record) is not { } grant)
            {
                _warnings.Warn($"grant:{state.Name}", $"group '{state.Name}': ignored a key grant that is not signed");
                continue;
            }

            if (grant.Epoch > state.Log.Epochs.Count && state.FutureGrants.Count < 1000)
            {
                state.FutureGrants.Add(record);
                continue;
            }

            if (_keyring.TryGet(state.Name, grant.Epoch) is not null)
            {
                continue;
            }

            if (GroupCommits.Accept(state.Log, grant, _identity, out var why) is { } key)
            {
                accepted.Add((grant.Epoch, key));
            }
            else if (state.RefusedGrantEpochs.Count < 100 && state.RefusedGrantEpochs.Add(grant.Epoch))
            {
                // One error per epoch: an etcd writer's pile of grants costs warnings at the rate limit, not a flood.
                Emit(new ErrorEvent($"group '{state.Name}': a key grant for epoch {grant.Epoch} was refused ({why})"));
            }
            else
            {
                _warnings.Warn($"refused:{state.Name}", $"group '{state.Name}': refused another key grant for epoch {grant.Epoch} ({why})");
            }
        }

        if (accepted.Count > 0)
        {
            _keyring.Save(state.Name, accepted);
            LogKeysAccepted(accepted.Count, state.Name, accepted.Max(a => a.Item1));
        }
    }

    /// <summary>After keys arrived: start the group if this peer can now, send what was held, retry parked frames.</summary>
    private async Task AfterKeysAsync(GroupState state, CancellationToken ct)
    {
        if (!state.Connected)
        {
            await StartIfAdmittedAsync(state, ct);
            return;
        }

        state.CanSend = state.Log.Members.ContainsKey(PeerId) && _keyring.TryGet(state.Name, state.Log.CurrentEpoch.Number) is not null;
        // Numbered when typed, sealed now under the new key, in the order typed.
        _sender?.ReleaseHeld(state);

        Unpark(state);
    }

    private async Task OnLogChangedAsync(SessionInput.LogChanged changed, CancellationToken ct)
    {
        if (!_groups.TryGetValue(changed.Group, out var state))
        {
            return;
        }

        var prefix = MeshKeys.LogPrefix(changed.Group);
        var repairs = new List<long>();
        var applied = new List<LogEntry>();
        foreach (var change in changed.Changes)
        {
            long index;
            if (change.Key == MeshKeys.Group(changed.Group))
            {
                index = 0;
            }
            else if (!change.Key.StartsWith(prefix, StringComparison.Ordinal)
                || !long.TryParse(change.Key[prefix.Length..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index) || index < 1)
            {
                continue;
            }

            if (index <= state.Log.Head)
            {
                // Only a member defends the log it applied: a peer still waiting to be admitted trusted its first read
                // only so far, and must not fight members over it.
                if (state.Log.Members.ContainsKey(PeerId) && (change.IsDelete || !change.Value.AsSpan().SequenceEqual(state.Log.RecordAt(index))))
                {
                    // An etcd writer deleted or rewrote an entry this peer applied: the chain it holds stands.
                    if (state.ReportedEntries.Add(index))
                    {
                        Emit(new ErrorEvent($"group '{state.Name}': entry {index} of the group log was {(change.IsDelete ? "deleted" : "rewritten")} in etcd; keeping the one this peer checked and putting it back"));
                    }

                    repairs.Add(index);
                }

                continue;
            }

            // Entries far ahead cannot be applied before those in between: an etcd writer's junk there costs nothing.
            if (!change.IsDelete && index <= state.Log.Head + GroupState.MaxFutureEntries)
            {
                state.FutureEntries[index] = (change.Value, change.ModRevision);
            }
        }

        while (state.FutureEntries.Remove(state.Log.Head + 1, out var future))
        {
            var index = state.Log.Head + 1;
            var next = future.Value;
            if (!state.Log.TryApply(next, out var why))
            {
                if (future.ModRevision > 0)
                {
                    state.JunkRevisions[index] = future.ModRevision;
                }

                if (state.ReportedEntries.Add(index))
                {
                    Emit(new ErrorEvent($"group '{state.Name}': entry {index} of the group log rejected ({why}); ignoring it"));
                }

                break;
            }

            state.ReportedEntries.Remove(index);
            state.JunkRevisions.Remove(index);
            var entry = LogEntry.TryParse(next, out _)!;
            LogApplied(index, entry.Op, state.Name, entry.Epoch);
            applied.Add(entry);
        }

        Repair(state, repairs, ct);
        if (applied.Count == 0)
        {
            return;
        }

        if (state.Log.Members.ContainsKey(PeerId))
        {
            _logCopy.Save(state.Log);
        }

        foreach (var entry in applied)
        {
            if (!_groups.ContainsKey(state.Name))
            {
                return;
            }

            await OnAppliedAsync(state, entry, ct);
        }

        var waiting = state.FutureGrants.ToList();
        state.FutureGrants.Clear();
        AcceptGrants(state, waiting);
        await AfterKeysAsync(state, ct);
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
                if (candidate is not null && IsMember(Sort(state, candidate)) && state.Ready)
                {
                    Emit(new MemberEvent(state.Name, Label(state, candidate.PeerId, candidate.Name), candidate.PeerId, Joined: true));
                }

                ApplyLinks();
                break;
            case LogOp.Remove or LogOp.Leave when entry.Peer == PeerId:
                if (entry.Op == LogOp.Remove)
                {
                    var by = state.Log.NameOf(entry.By) ?? entry.By;
                    Emit(new ErrorEvent($"you were removed from '{state.Name}' by {by}"));
                    await DropGroupAsync(state, ct);
                    Emit(new MemberEvent(state.Name, _name, PeerId, Joined: false, MemberEvent.Removed));
                }

                break;
            case LogOp.Remove or LogOp.Leave:
                var record = state.Table.Removed(entry.Peer!);
                state.AwaitingLinks.Remove(entry.Peer!);
                ApplyLinks();
                if (state.Ready)
                {
                    var label = record is not null ? Label(state, record.PeerId, record.Name) : entry.Peer!;
                    Emit(new MemberEvent(state.Name, label, entry.Peer!, Joined: false, entry.Op == LogOp.Remove ? MemberEvent.Removed : MemberEvent.Left));
                }

                ScheduleRotation(state);
                break;
        }

        if (entry.Epoch > 0)
        {
            state.EpochEndSeenMs[entry.Epoch - 1] = NowMs;
        }

        if (entry.Epoch > 0 && _keyring.TryGet(state.Name, entry.Epoch) is null && state.Log.Members.ContainsKey(PeerId))
        {
            // Until the new key is here, typed lines are held, not sealed under the key the departed member knows.
            state.CanSend = false;
        }
    }

    private void OnAdmissionRequests(GroupState state, IReadOnlyList<Coordinator.Etcd.KeyChange> changes)
    {
        foreach (var change in changes.Where(c => !c.IsDelete))
        {
            var request = AdmissionRequest.TryParse(change.Value, state.Name);
            if (request is null || change.Key != MeshKeys.Admit(state.Name, request.PeerId))
            {
                _warnings.Warn($"admit:{state.Name}", $"group '{state.Name}': ignored an admission request that is not signed with an invite");
                continue;
            }

            // The inviter must be a member now (with the key the log pinned), the invite unused and not expired.
            if (!state.Log.Members.TryGetValue(request.Invite.By, out var inviter) || !inviter.SigningKey.AsSpan().SequenceEqual(request.Invite.SigningKey)
                || state.Log.InviteUsed(request.Invite.Id) || request.Invite.ExpiresAtMs < NowMs || state.Log.Members.ContainsKey(request.PeerId))
            {
                continue;
            }

            state.Requests[request.PeerId] = request;
            Schedule(state, request.PeerId);
        }
    }

    /// <summary>Plans this peer's turn to admit <paramref name="peerId"/>, by its rank among the online members.</summary>
    private void Schedule(GroupState state, string peerId)
    {
        if (!state.Connected || state.ActAtMs.ContainsKey(peerId) || state.Log.Members.ContainsKey(peerId))
        {
            return;
        }

        state.ActAtMs[peerId] = NowMs + (long)CommitRank.DelayOf(PeerId, state.Members.Keys).TotalMilliseconds;
    }

    private void ScheduleRotation(GroupState state)
    {
        if (state.Connected && state.Log.RotationNeeded && !state.ActAtMs.ContainsKey(""))
        {
            state.ActAtMs[""] = NowMs + (long)CommitRank.DelayOf(PeerId, state.Members.Keys).TotalMilliseconds;
        }
    }

    /// <summary>On every tick: the admissions and rotations whose turn has come for this peer. Their commits run in
    /// the background (a slow or frozen etcd never stalls the chat); the outcome comes back as an input.</summary>
    private void ActOnSchedule()
    {
        if (_etcdDown)
        {
            return;
        }

        var now = NowMs;
        foreach (var state in _groups.Values.Where(s => s.PendingRepairs.Count > 0))
        {
            RepairDue(state, _stop.Token);
        }

        foreach (var state in _groups.Values.Where(s => s.Connected).ToList())
        {
            var due = state.ActAtMs.Where(a => a.Value <= now).Select(a => a.Key).ToList();
            if (due.Count == 0)
            {
                continue;
            }

            if (state.Committing)
            {
                continue;
            }

            if (due.Remove(""))
            {
                state.ActAtMs.Remove("");
                StartCommit(state, log => log.RotationNeeded ? GroupCommits.Rotate(log, _identity, null, NowMs) : null, []);
                continue;
            }

            Admit(state, due);
        }
    }

    /// <summary>Commits the admission of everyone whose turn has come, in one transaction as far as it takes them:
    /// those with a valid invite request, and in an open group those whose signed record is online.</summary>
    private void Admit(GroupState state, IReadOnlyList<string> due)
    {
        var newcomers = new List<(LogMember Newcomer, string? Invite)>();
        var served = new List<string>();
        foreach (var peerId in due)
        {
            state.ActAtMs.Remove(peerId);
            if (state.Log.Members.ContainsKey(peerId))
            {
                continue;
            }

            if (state.Requests.TryGetValue(peerId, out var request))
            {
                if (!state.Log.InviteUsed(request.Invite.Id) && newcomers.All(n => n.Invite != request.Invite.Id))
                {
                    newcomers.Add((new LogMember(peerId, request.PeerSigningKey, request.CurveKey, request.Name, Admin: false), request.Invite.Id));
                    served.Add(MeshKeys.Admit(state.Name, peerId));
                }
            }
            else if (!state.Log.IsPrivate && !state.Log.WasRemoved(peerId) && state.Candidates.TryGetValue(peerId, out var record))
            {
                newcomers.Add((new LogMember(peerId, Convert.FromBase64String(record.SigningKey), record.PublicKeyZ85, record.Name, Admin: false), null));
            }
        }

        if (newcomers.Count > 0)
        {
            LogAdmitting(newcomers.Count, state.Name);
            StartCommit(state, log => GroupCommits.AddAll(log, _identity, newcomers, _keyring.Of(state.Name), NowMs, GroupLogStore.MaxAlongside), served);
        }
    }

    /// <summary>Writes the change <paramref name="build"/> makes of the current log, in the background; its outcome
    /// comes back as <see cref="SessionInput.Committed"/> or <see cref="SessionInput.CommitFailed"/> (then the entry that
    /// won the index is read and applied, and what is still needed is planned again).</summary>
    /// <param name="state">The group.</param>
    /// <param name="build">The change, or null when it is no longer needed.</param>
    /// <param name="thenDelete">Keys to delete once the commit landed (served admission requests).</param>
    private void StartCommit(GroupState state, Func<GroupLog, GroupCommits.Commit?> build, IReadOnlyList<string> thenDelete)
    {
        if (state.Committing || build(state.Log) is not { } commit)
        {
            return;
        }

        state.Committing = true;
        var group = state.Name;
        var head = state.Log.Head;
        var epoch = state.Log.CurrentEpoch.Number + 1;
        var replacing = state.JunkRevisions.GetValueOrDefault(commit.Index);
        var ct = _stop.Token;
        _ = Task.Run(async () =>
        {
            try
            {
                var inTransaction = GroupLogStore.MaxAlongside - commit.Following.Count;
                if (await _logStore.TryAppendAsync(group, commit.Index, commit.Record, commit.Grants.Take(inTransaction).ToList(), ct, replacing, commit.Following))
                {
                    foreach (var (key, value) in commit.Grants.Skip(inTransaction))
                    {
                        await _logStore.PutAsync(key, value, ct);
                    }

                    foreach (var key in thenDelete)
                    {
                        await _logStore.DeleteAsync(key, ct);
                    }

                    Post(new SessionInput.Committed(group, commit.Entries.ToList(), commit.NewKey, epoch));
                    return;
                }

                Post(new SessionInput.LogChanged(group, await _logStore.ReadAfterAsync(group, head, ct)));
                Post(new SessionInput.CommitFailed(group, null));
            }
            catch (Exception e)
            {
                // Whatever failed, the loop hears of it: the group is never left believing a commit is on its way.
                Post(new SessionInput.CommitFailed(group, $"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}"));
            }
        }, CancellationToken.None);
    }

    private async Task OnCommittedAsync(SessionInput.Committed committed, CancellationToken ct)
    {
        if (!_groups.TryGetValue(committed.Group, out var state))
        {
            return;
        }

        state.Committing = false;
        if (committed.NewKey is not null)
        {
            _keyring.Save(state.Name, [(committed.Epoch, committed.NewKey)]);
        }

        await OnLogChangedAsync(new SessionInput.LogChanged(state.Name,
            committed.Entries.Select(e => new KeyChange(MeshKeys.LogEntry(state.Name, e.Index), false, e.Record, 0, 0)).ToList()), ct);
        Replan(state);
        // Whoever waits next need not wait for the tick.
        ActOnSchedule();
    }

    private void OnCommitFailed(SessionInput.CommitFailed failed)
    {
        if (!_groups.TryGetValue(failed.Group, out var state))
        {
            return;
        }

        state.Committing = false;
        if (failed.Error is not null)
        {
            _warnings.Warn($"commit:{state.Name}", $"group '{state.Name}': a change to its log did not reach etcd ({failed.Error}); trying again");
        }

        Replan(state);
    }

    /// <summary>Plans again whatever is still to do in a group: admissions of those waiting, a rotation after a leave.</summary>
    private void Replan(GroupState state)
    {
        ScheduleRotation(state);
        foreach (var peerId in state.Candidates.Keys.Concat(state.Requests.Keys).ToList())
        {
            Schedule(state, peerId);
        }
    }

    /// <summary>Commits the change <paramref name="build"/> makes of the current log (null: no longer needed), at the
    /// next index, create-only. When another member took that index first, its entry is read and applied and the change
    /// is built again. True when this peer's entry was written.</summary>
    private async Task<bool> CommitAsync(GroupState state, Func<GroupLog, GroupCommits.Commit?> build, CancellationToken ct)
    {
        for (var attempt = 0; attempt < CommitAttempts; attempt++)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            if (!_groups.ContainsKey(state.Name) || build(state.Log) is not { } commit)
            {
                return false;
            }

            var built = clock.Elapsed.TotalMilliseconds;
            try
            {
                // A fresh epoch key is kept here as soon as it is committed (a grant to this peer is written too).
                var epoch = state.Log.CurrentEpoch.Number + 1;
                // Junk an etcd writer put at the next index would block the log forever: it is replaced, if it is still that.
                var replacing = state.JunkRevisions.GetValueOrDefault(commit.Index);

                if (await _logStore.TryAppendAsync(state.Name, commit.Index, commit.Record, commit.Grants.Take(GroupLogStore.MaxAlongside).ToList(), ct, replacing))
                {
                    LogCommitted(commit.Index, state.Name, built, clock.Elapsed.TotalMilliseconds - built);
                    if (commit.NewKey is not null)
                    {
                        _keyring.Save(state.Name, [(epoch, commit.NewKey)]);
                    }

                    foreach (var chunk in commit.Grants.Skip(GroupLogStore.MaxAlongside).Chunk(GroupLogStore.MaxAlongside))
                    {
                        foreach (var (key, value) in chunk)
                        {
                            await _logStore.PutAsync(key, value, ct);
                        }
                    }

                    state.FutureEntries.Remove(commit.Index);
                    await OnLogChangedAsync(new SessionInput.LogChanged(state.Name, [new KeyChange(MeshKeys.LogEntry(state.Name, commit.Index), false, commit.Record, 0, 0)]), ct);
                    return true;
                }

                await OnLogChangedAsync(new SessionInput.LogChanged(state.Name, await _logStore.ReadAfterAsync(state.Name, state.Log.Head, ct)), ct);
            }
            catch (EtcdUnavailableException e)
            {
                Emit(new ErrorEvent($"group '{state.Name}': could not write to its log: {e.Message}"));
                return false;
            }
        }

        return false;
    }

    /// <summary><c>/remove NAME</c>: removes a member and starts a new epoch whose key it never receives.</summary>
    private async Task RemoveAsync(string? label, CancellationToken ct)
    {
        if (_current is null || !_groups.TryGetValue(_current, out var state) || !state.Connected)
        {
            Emit(new ErrorEvent("/remove: not in a group"));
            return;
        }

        if (string.IsNullOrWhiteSpace(label))
        {
            Emit(new ErrorEvent("/remove: name a member (NAME, or NAME#FINGERPRINT when two share a name)"));
            return;
        }

        if (DisplayNames.Find(state.Log, label, out var error) is not { } target)
        {
            Emit(new ErrorEvent($"/remove: {Naming.Printable(error)}"));
            return;
        }

        var self = state.Log.Members.GetValueOrDefault(PeerId);
        if (self is null || (state.Log.Creator != PeerId && !self.Admin))
        {
            Emit(new ErrorEvent($"/remove: only the creator of '{state.Name}' or an admin may remove members"));
            return;
        }

        if (target.PeerId == PeerId || target.PeerId == state.Log.Creator)
        {
            Emit(new ErrorEvent(target.PeerId == PeerId ? "/remove: to leave, use /leave" : "/remove: the creator cannot be removed"));
            return;
        }

        LogRemoving(target.Name, target.PeerId, state.Name);
        if (!await CommitAsync(state, log => log.Members.ContainsKey(target.PeerId) ? GroupCommits.Rotate(log, _identity, target.PeerId, NowMs) : null, ct))
        {
            Emit(new ErrorEvent($"/remove: {target.Name} was not removed (already gone, or etcd did not take it)"));
        }
    }

    /// <summary><c>/admin NAME</c> (the creator only): lets a member remove others.</summary>
    private async Task GrantAdminAsync(string? label, CancellationToken ct)
    {
        if (_current is null || !_groups.TryGetValue(_current, out var state) || !state.Connected)
        {
            Emit(new ErrorEvent("/admin: not in a group"));
            return;
        }

        if (state.Log.Creator != PeerId)
        {
            Emit(new ErrorEvent($"/admin: only the creator of '{state.Name}' may make admins"));
            return;
        }

        if (string.IsNullOrWhiteSpace(label))
        {
            Emit(new ErrorEvent("/admin: name a member"));
            return;
        }

        if (DisplayNames.Find(state.Log, label, out var error) is not { } target)
        {
            Emit(new ErrorEvent($"/admin: {Naming.Printable(error)}"));
            return;
        }

        if (target.Admin)
        {
            Emit(new ErrorEvent($"/admin: {target.Name} may remove members already"));
            return;
        }

        if (!await CommitAsync(state, log => log.Members.TryGetValue(target.PeerId, out var m) && !m.Admin ? GroupCommits.Admin(log, _identity, target.PeerId, NowMs) : null, ct))
        {
            Emit(new ErrorEvent($"/admin: {target.Name} was not made an admin (gone, or etcd did not take it)"));
        }
    }

    /// <summary><c>/members</c>: the group's members as its log holds them, and who is online.</summary>
    private void ListMembers()
    {
        if (_current is null || !_groups.TryGetValue(_current, out var state))
        {
            Emit(new ErrorEvent("/members: not in a group"));
            return;
        }

        var list = state.Log.Members.Values
            .Select(m => new MembersEvent.Entry(Label(state, m.PeerId, m.Name), m.PeerId, m.PeerId == PeerId || state.Members.ContainsKey(m.PeerId),
                m.PeerId == state.Log.Creator ? "creator" : m.Admin ? "admin" : "member")
            {
                Link = m.PeerId == PeerId ? "self" : state.Members.ContainsKey(m.PeerId) ? LinkWord(m.PeerId) : "offline",
                Rtt = Rtt.Of(m.PeerId, LinkRtt.NowUs),
            })
            .OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        // The epoch this peer seals under now: the log's, once its key is here.
        var sending = state.CanSend ? state.Log.CurrentEpoch.Number : _keyring.Of(state.Name).Keys.DefaultIfEmpty(0).Max();
        Emit(new MembersEvent(state.Name, sending, list));
    }

    /// <summary>Keeps a frame or history entry that names an epoch key or a log state this peer does not have yet.</summary>
    private void Park(GroupState state, string? historyName, string peerId, byte[] payload)
    {
        for (var dropped = state.Parked.Add(historyName, peerId, payload); dropped > 0; dropped--)
        {
            _instruments.FrameRejected(state.Name);
        }
    }

    private void Unpark(GroupState state)
    {
        foreach (var (historyName, peerId, payload) in state.Parked.TakeAll())
        {
            if (historyName is null)
            {
                OnFrame(new SessionInput.Frame(peerId, state.Name, payload));
            }
            else if (OpenStored(state, historyName, payload) is { } envelope)
            {
                foreach (var ready in state.Orderer.OfferHistory(envelope))
                {
                    Deliver(ready, own: false);
                }
            }
        }
    }

    private Envelope? OpenChecked(GroupState state, SealedEnvelope parsed, bool live, out RejectReason reason, out bool park) =>
        _gate.Open(state, parsed, live, NowMs, out reason, out park);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 511, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "applied entry {Index} ({Op}) of the group log of '{Group}'; epoch {Epoch}")]
    private partial void LogApplied(long index, LogOp op, string group, long epoch);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 512, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "took {Count} key grants of '{Group}', up to epoch {Epoch}")]
    private partial void LogKeysAccepted(int count, string group, long epoch);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 513, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "removing {Name} ({PeerId}) from '{Group}': committing a new epoch")]
    private partial void LogRemoving(string name, string peerId, string group);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 514, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "committed entry {Index} of the group log of '{Group}': built in {BuiltMs:F1} ms, written in {WrittenMs:F1} ms")]
    private partial void LogCommitted(long index, string group, double builtMs, double writtenMs);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 515, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "admitting {Count} newcomers to '{Group}'")]
    private partial void LogAdmitting(int count, string group);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 510, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "put back entry {Index} of the group log of '{Group}' in etcd")]
    private partial void LogRepairedEntry(long index, string group);
}
