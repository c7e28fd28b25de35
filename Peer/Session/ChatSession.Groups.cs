using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Peer.Configuration;
using Mesh.Peer.Node;
using Mesh.Peer.Protocol;
using NetMQ;

namespace Mesh.Peer.Session;

public sealed partial class ChatSession
{
    /// <summary>Joins a group: directory entry, presence, links to its members, its history, then watches.</summary>
    /// <remarks>
    /// Members are read first and followed from the revision after that read, so no join or leave in between is
    /// missed. Links are opened before history is read, so a message sent while history loads arrives live (or, if
    /// its link was not up yet, through the history watch that starts right after the history read).
    /// </remarks>
    private async Task JoinAsync(string group, CancellationToken ct)
    {
        if (_groups.ContainsKey(group))
        {
            Emit(new ErrorEvent($"already in group '{group}'"));
            return;
        }

        var state = new GroupState(group) { JoinStartedMs = NowMs };
        _groups[group] = state;
        try
        {
            await _directory.EnsureGroupAsync(group, new GroupRecord(NowMs, _name), ct);
            await _registration.PutAsync(MeshKeys.Member(group, PeerId), OwnRecord().ToBytes(), ct);
            var (members, revision) = await _directory.ListMembersAsync(group, ct);
            foreach (var member in members.Where(m => m.PeerId != PeerId))
            {
                state.Members[member.PeerId] = member;
                if (!_linksUp.Contains(member.PeerId))
                {
                    state.AwaitingLinks.Add(member.PeerId);
                }
            }

            ApplyLinks();
            state.MembersWatch = Watch(MeshKeys.MembersPrefix(group), revision + 1, changes => new SessionInput.MembersChanged(group, changes));

            var historyRevision = await _history.ReadAsync(group, page =>
            {
                foreach (var entry in page)
                {
                    if (DecodeStored(group, entry.Name, entry.Value) is { } envelope)
                    {
                        foreach (var ready in state.Orderer.OfferHistory(envelope))
                        {
                            Deliver(ready, own: ready.PeerId == PeerId && ready.Epoch == _epoch);
                        }
                    }
                }

                return ValueTask.CompletedTask;
            }, ct);
            state.HistoryWatch = Watch(MeshKeys.HistoryPrefix(group), historyRevision + 1, changes => new SessionInput.HistoryChanged(group, changes));
            state.HistoryLoaded = true;
            TryReady(state, NowMs);
        }
        catch
        {
            _groups.Remove(group);
            await StopWatchesAsync(state);
            ApplyLinks();
            throw;
        }
    }

    /// <summary>Starts following a prefix; its changes reach the session loop as inputs, in revision order.</summary>
    private PrefixWatcher Watch(string prefix, long fromRevision, Func<IReadOnlyList<KeyChange>, SessionInput> toInput)
    {
        var watcher = new PrefixWatcher(_etcd, prefix, fromRevision, changes =>
        {
            Post(toInput(changes));
            return ValueTask.CompletedTask;
        }, _logs.CreateLogger("watch"));
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

    private void OnLinkUp(string peerId)
    {
        _linksUp.Add(peerId);
        var now = NowMs;
        foreach (var state in _groups.Values)
        {
            if (state.AwaitingLinks.Remove(peerId))
            {
                TryReady(state, now);
            }
        }
    }

    private void OnMembersChanged(SessionInput.MembersChanged changed)
    {
        if (!_groups.TryGetValue(changed.Group, out var state))
        {
            return;
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
                if (known && (before!.Endpoint != record.Endpoint || before.PublicKeyZ85 != record.PublicKeyZ85))
                {
                    // It came back from elsewhere: its old link is useless until a new hello arrives.
                    _linksUp.Remove(change.PeerId);
                }

                state.Members[change.PeerId] = record;
                if (!known && state.Ready)
                {
                    Emit(new MemberEvent(state.Name, record.Name, Joined: true));
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
    }

    /// <summary>Tells the node the members it should follow now: every member of every joined group.</summary>
    private void ApplyLinks()
    {
        var wanted = new Dictionary<string, (Coordinator.Membership.MemberRecord Record, HashSet<string> Groups)>(StringComparer.Ordinal);
        foreach (var state in _groups.Values)
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

        var links = new List<LinkSpec>(wanted.Count);
        foreach (var (peerId, (record, groups)) in wanted)
        {
            byte[] key;
            try
            {
                key = NetMQCertificate.FromPublicKey(record.PublicKeyZ85).PublicKey;
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                continue;
            }

            links.Add(new LinkSpec(peerId, record.Endpoint, key, groups));
        }

        _node.SetLinks(links);
    }
}
