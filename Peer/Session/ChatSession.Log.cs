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

        await OnLogStepAsync(state, state.Follower.Observe(changed.Changes, defend: state.Log.Members.ContainsKey(PeerId), NowMs), ct);
    }

    /// <summary>Acts on what following the log came to: errors told, entries put back, applied entries' meaning.</summary>
    private async Task OnLogStepAsync(GroupState state, LogStep step, CancellationToken ct)
    {
        foreach (var error in step.Errors)
        {
            Emit(new ErrorEvent(error));
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

    /// <summary>The log went on with another entry at <paramref name="at"/> (a fork ended by the lower-hash rule): keys of
    /// epochs the log now holds with other keys are retired, members filed again, links and sending checked again, and
    /// etcd's entries after the new head read (they were junk on the other branch).</summary>
    private async Task OnSwitchedAsync(GroupState state, long at, CancellationToken ct)
    {
        var group = state.Name;
        foreach (var (epoch, key) in _keyring.Of(group).ToList())
        {
            if (epoch > state.Log.Epochs.Count || key.Check(group, epoch) != state.Log.Epochs[(int)epoch - 1].KeyCheck)
            {
                _keyring.Retire(group, epoch);
            }
        }

        if (!state.Log.Members.ContainsKey(PeerId))
        {
            Emit(new ErrorEvent($"group '{group}': on the branch of its log that every member follows, you are not a member"));
            await DropGroupAsync(state, ct);
            Emit(new MemberEvent(group, _name, PeerId, Joined: false, MemberEvent.Removed));
            return;
        }

        _logCopy.Save(state.Log);
        state.Table.Refile(state.Log);
        ApplyLinks();
        state.CanSend = _keyring.TryGet(group, state.Log.CurrentEpoch.Number) is not null;
        var head = state.Log.Head;
        _ = Background($"reading the log of '{group}' after entry {at}", async c => Post(new SessionInput.LogChanged(group, await _logStore.ReadAfterAsync(group, head, c))));
        // Grants of this branch's epoch keys may be in etcd already (written over the other branch's): taken again.
        _ = Background($"reading the key grants of '{group}'", async c => Post(new SessionInput.KeyGranted(group,
            (await _logStore.ListAsync(MeshKeys.GrantsPrefix(group, PeerId), 100_000, c)).Values.Select(g => new KeyChange(g.Key, false, g.Value, 0, 0)).ToList())));
        Replan(state);
        _sender?.ReleaseHeld(state);
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

            if (!state.Log.AcceptsConsentOf(NewcomerOf(request)))
            {
                _warnings.Warn($"consent:{state.Name}:{request.PeerId}", $"group '{state.Name}': ignored an admission request of {request.PeerId} without its own consent to this group (from an older Mesh, or forged)");
                continue;
            }

            state.Requests[request.PeerId] = request;
            Schedule(state, request.PeerId);
        }
    }

    private static Newcomer NewcomerOf(AdmissionRequest request) =>
        new(new LogMember(request.PeerId, request.PeerSigningKey, request.CurveKey, request.Name, Admin: false), request.Invite.Id, request.Consent);

    /// <summary>Keys this member should hold and still lacks a while after their epoch began: asked of the others (a
    /// signed, leased record), and the user told while it waits; the ask goes once the keys are here.</summary>
    private void AskForMissingKeys(GroupState state, long now)
    {
        var group = state.Name;
        var asked = _keyRecovery.Asked(group);
        if (_keyRecovery.AskDue(state, PeerId, e => _keyring.TryGet(group, e) is not null, now) is { } epochs)
        {
            if (!asked)
            {
                // Said once; the ask is made again every 30 s until the keys are here.
                Emit(new WaitingEvent(group, $"waiting for the key of epoch {epochs[^1]} of '{group}': asked the other members for it"));
            }

            var record = KeyRequest.Create(group, _identity, epochs, now);
            _ = Background($"asking for keys of '{group}'", ct => _registration.PutAsync(MeshKeys.KeyRequest(group, PeerId), record, ct));
        }
        else if (asked && !_keyRecovery.Asked(group))
        {
            _ = Background($"withdrawing the key ask of '{group}'", ct => _registration.DeleteAsync(MeshKeys.KeyRequest(group, PeerId), ct));
        }
    }

    private void OnKeyAsks(GroupState state, IReadOnlyList<KeyChange> changes)
    {
        var prefix = MeshKeys.KeyRequestPrefix(state.Name);
        foreach (var change in changes)
        {
            var peerId = change.Key.StartsWith(prefix, StringComparison.Ordinal) ? change.Key[prefix.Length..] : "";
            if (change.IsDelete)
            {
                _keyRecovery.Withdrawn(state.Name, peerId);
                continue;
            }

            if (KeyRequest.TryParse(change.Value, state.Name) is not { } request || request.PeerId != peerId || peerId == PeerId)
            {
                if (peerId != PeerId)
                {
                    _warnings.Warn($"keyask:{state.Name}", $"group '{state.Name}': ignored a key request that is not signed by the member it names");
                }

                continue;
            }

            _keyRecovery.OnAsk(state, request, e => _keyring.TryGet(state.Name, e) is not null, CommitRank.DelayOf(PeerId, state.Members.Keys), NowMs);
        }
    }

    /// <summary>Grants again, to members that asked, the keys of epochs they should hold and this peer holds.</summary>
    private void AnswerKeyAsks()
    {
        foreach (var (group, request) in _keyRecovery.AnswersDue(NowMs))
        {
            if (!_groups.TryGetValue(group, out var state) || !state.Log.Members.TryGetValue(request.PeerId, out var member))
            {
                continue;
            }

            var grants = request.Due(state.Log).Select(e => (Epoch: e, Key: _keyring.TryGet(group, e))).Where(k => k.Key is not null)
                .Select(k => GroupCommits.Regrant(state.Log, _identity, member, k.Epoch, k.Key!)).ToList();
            LogRegranting(grants.Count, request.PeerId, group);
            _ = Background($"granting keys of '{group}' again", async ct =>
            {
                foreach (var (key, value) in grants)
                {
                    await _logStore.PutAsync(key, value, ct);
                }
            });
        }
    }

    /// <summary>Runs an etcd write off the loop; a failure is a rate-limited warning (the next tick or ask tries again).</summary>
    private async Task Background(string what, Func<CancellationToken, Task> write)
    {
        try
        {
            await Task.Run(() => write(_stop.Token), CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stop.IsCancellationRequested)
        {
            _warnings.Warn($"background:{what}", $"{what} failed ({e.Message.ReplaceLineEndings(" ")}); trying again later");
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

        AnswerKeyAsks();
        foreach (var state in _groups.Values.Where(s => s.Committer.Pending > 0).ToList())
        {
            // A try that etcd did not answer goes again once its pause is over.
            PumpCommits(state);
        }

        foreach (var state in _groups.Values.Where(s => s.Connected).ToList())
        {
            var due = state.ActAtMs.Where(a => a.Value <= now).Select(a => a.Key).ToList();
            if (due.Count == 0)
            {
                continue;
            }

            if (state.Committer.Pending > 0)
            {
                continue;
            }

            if (due.Remove(""))
            {
                state.ActAtMs.Remove("");
                Commit(state, new CommitIntent("a new key epoch after a leave",
                    log => log.RotationNeeded ? GroupCommits.Rotate(log, _identity, null, NowMs) : null, []));
                continue;
            }

            Admit(state, due);
        }
    }

    /// <summary>Commits the admission of everyone whose turn has come, in one transaction as far as it takes them:
    /// those with a valid invite request, and in an open group those whose signed record is online.</summary>
    private void Admit(GroupState state, IReadOnlyList<string> due)
    {
        var newcomers = new List<Newcomer>();
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
                    newcomers.Add(NewcomerOf(request));
                    served.Add(MeshKeys.Admit(state.Name, peerId));
                }
            }
            else if (!state.Log.IsPrivate && !state.Log.WasRemoved(peerId) && state.Candidates.TryGetValue(peerId, out var record))
            {
                // Filed as a candidate only if the log would take its addition (see MemberTable), so this holds.
                if (Newcomer.TryFrom(record, state.Log, out _) is { } joiner)
                {
                    newcomers.Add(joiner);
                }
            }
        }

        if (newcomers.Count > 0)
        {
            LogAdmitting(newcomers.Count, state.Name);
            Commit(state, new CommitIntent($"admitting {newcomers.Count}",
                log => GroupCommits.AddAll(log, _identity, newcomers.Where(n => !log.Members.ContainsKey(n.Member.PeerId)).ToList(), _keyring.Of(state.Name), NowMs, GroupLogStore.MaxAlongside),
                served));
        }
    }

    /// <summary>Queues a change to the group's log; tries go out one at a time (<see cref="LogCommitter"/>).</summary>
    private void Commit(GroupState state, CommitIntent intent)
    {
        state.Committer.Enqueue(intent);
        PumpCommits(state);
    }

    /// <summary>Sends the next try of the group's commits, if none is in flight: in the background (a slow or frozen
    /// etcd never stalls the chat); its answer comes back as <see cref="SessionInput.Appended"/>.</summary>
    private void PumpCommits(GroupState state)
    {
        var ended = new List<(CommitIntent, CommitEnd)>();
        var next = state.Committer.NextTry(state.Log, state.Follower.NextSlotRevision, NowMs, ended);
        foreach (var (intent, end) in ended)
        {
            Finish(intent, end);
        }

        if (next is not { } attempt)
        {
            return;
        }

        var (append, commit) = attempt;
        var group = state.Name;
        var ct = _stop.Token;
        var rest = commit.Grants.Skip(append.Alongside.Count).ToList();
        var thenDelete = state.Committer.CurrentThenDelete;
        _ = Task.Run(async () =>
        {
            try
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var result = await _logStore.TryAppendAsync(append, ct);
                if (result.Written)
                {
                    LogCommitted(append.Index, group, clock.Elapsed.TotalMilliseconds);
                    // Grants beyond one transaction's room, then the requests it served; the entry stands already.
                    foreach (var (key, value) in rest)
                    {
                        await RetryUntilDone.RunAsync(c => _logStore.PutAsync(key, value, c),
                            (reason, _) => Post(new SessionInput.Notice($"group '{group}': writing a key grant failed ({reason}); retrying")), null, ct);
                    }

                    foreach (var key in thenDelete)
                    {
                        await _logStore.DeleteAsync(key, ct);
                    }
                }

                Post(new SessionInput.Appended(group, commit, result, null));
            }
            catch (Exception e)
            {
                // Whatever failed, the loop hears of it: the group is never left believing a try is on its way.
                Post(new SessionInput.Appended(group, commit, null, e is EtcdUnavailableException ? e.Message : $"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}"));
            }
        }, CancellationToken.None);
    }

    private async Task OnAppendedAsync(SessionInput.Appended appended, CancellationToken ct)
    {
        if (!_groups.TryGetValue(appended.Group, out var state))
        {
            return;
        }

        var commit = appended.Commit;
        if (appended.Result is not { } result)
        {
            state.Committer.Failed(NowMs);
            _warnings.Warn($"commit:{state.Name}", $"group '{state.Name}': a change to its log did not reach etcd ({appended.Error}); trying again");
            return;
        }

        if (result.Written)
        {
            if (commit.NewKey is not null)
            {
                // A fresh epoch key is kept as soon as it is committed.
                _keyring.Save(state.Name, [(LogEntry.TryParse(commit.Record, out _)!.Epoch, commit.NewKey)]);
            }

            var ended = state.Committer.Completed(written: true, lostToJunk: false);
            await OnLogStepAsync(state, state.Follower.Observe(
                commit.Entries.Select(e => new KeyChange(MeshKeys.LogEntry(state.Name, e.Index), false, e.Record, 0, 0)).ToList(), defend: true, NowMs), ct);
            if (ended is { } done)
            {
                Finish(done.Intent, done.End);
            }
        }
        else
        {
            // What holds the index now: a valid entry is applied (and the intent built again on top of it), junk is
            // remembered with its revision (the next try replaces it if it is still that), nothing frees the index.
            var head = state.Log.Head;
            var at = MeshKeys.LogEntry(state.Name, commit.Index);
            await OnLogStepAsync(state, state.Follower.Observe(
                [result.Occupant is null ? new KeyChange(at, true, [], 0, 0) : new KeyChange(at, false, result.Occupant, result.OccupantRevision, 0)],
                defend: state.Log.Members.ContainsKey(PeerId), NowMs), ct);
            if (state.Committer.Completed(written: false, lostToJunk: state.Log.Head == head) is { } ended)
            {
                Finish(ended.Intent, ended.End);
            }
        }

        Replan(state);
        PumpCommits(state);
        // Whoever waits next need not wait for the tick.
        ActOnSchedule();
    }

    /// <summary>Tells an intent how it ended, on the loop; a failure there costs that intent only.</summary>
    private void Finish(CommitIntent intent, CommitEnd end)
    {
        if (end == CommitEnd.GaveUp)
        {
            _warnings.Warn($"gaveup:{intent.What}", $"{intent.What}: the next index of the group log was taken by records the log refuses, rewritten {LogCommitter.MaxJunkTries} times in a row; trying again");
        }

        if (intent.Then is { } then)
        {
            Post(new SessionInput.Continue(() => then(end)));
        }
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

    /// <summary><c>/remove NAME</c>: removes a member and starts a new epoch whose key it never receives.</summary>
    private void Remove(string? label)
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
        Commit(state, RemovalOf(state, target));
    }

    /// <summary>Removing a member, tried until it lands or is no longer needed (the member went meanwhile).</summary>
    private CommitIntent RemovalOf(GroupState state, LogMember target) =>
        new($"/remove {Naming.Printable(target.Name)}", log => log.Members.ContainsKey(target.PeerId)
            ? GroupCommits.Rotate(log, _identity, target.PeerId, NowMs, GroupLog.CutOf(state.Streams.Of(target.PeerId)))
            : null, [])
        {
            Then = end =>
            {
                if (end == CommitEnd.NotNeeded && _groups.ContainsKey(state.Name))
                {
                    Emit(new InfoEvent($"/remove: {Naming.Printable(target.Name)} is no longer a member of '{state.Name}'", state.Name));
                }
                else if (end == CommitEnd.GaveUp && _groups.ContainsKey(state.Name))
                {
                    Commit(state, RemovalOf(state, target));
                }

                return Task.CompletedTask;
            },
        };

    /// <summary><c>/admin NAME</c> (the creator only): lets a member remove others.</summary>
    private void GrantAdmin(string? label)
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

        Commit(state, AdminOf(state, target));
    }

    private CommitIntent AdminOf(GroupState state, LogMember target) =>
        new($"/admin {Naming.Printable(target.Name)}", log => log.Members.TryGetValue(target.PeerId, out var m) && !m.Admin ? GroupCommits.Admin(log, _identity, target.PeerId, NowMs) : null, [])
        {
            Then = end =>
            {
                if (end == CommitEnd.Landed && _groups.ContainsKey(state.Name))
                {
                    Emit(new InfoEvent($"/admin: {Naming.Printable(target.Name)} may now remove members of '{state.Name}'", state.Name));
                }
                else if (end == CommitEnd.NotNeeded && _groups.ContainsKey(state.Name))
                {
                    Emit(new InfoEvent($"/admin: {Naming.Printable(target.Name)} is an admin already, or no longer a member", state.Name));
                }
                else if (end == CommitEnd.GaveUp && _groups.ContainsKey(state.Name))
                {
                    Commit(state, AdminOf(state, target));
                }

                return Task.CompletedTask;
            },
        };

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

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 514, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "committed entry {Index} of the group log of '{Group}': written in {WrittenMs:F1} ms")]
    private partial void LogCommitted(long index, string group, double writtenMs);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 515, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "admitting {Count} newcomers to '{Group}'")]
    private partial void LogAdmitting(int count, string group);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 540, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "granting {Count} keys again to {PeerId}, who asked, in '{Group}'")]
    private partial void LogRegranting(int count, string peerId, string group);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 510, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "put back entry {Index} of the group log of '{Group}' in etcd")]
    private partial void LogRepairedEntry(long index, string group);
}
