using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.Registry;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary>Epoch keys: grants taken when the log vouches for them, keys this member lacks asked of the others, and
/// others' asks answered. Session loop only.</summary>
internal sealed partial class KeyKeeper(SessionCore core, SessionParts parts, IGroupLogStore logStore, IPresence registration)
{
    private readonly ILogger _log = core.Log;
    private readonly KeyRecovery _keyRecovery = new();

    /// <summary>Forgets the asks of a group left.</summary>
    public void Forget(string group) => _keyRecovery.Forget(group);

    public async Task OnKeyGrantedAsync(SessionInput.KeyGranted granted, CancellationToken ct)
    {
        if (!core.Groups.TryGetValue(granted.Group, out var state))
        {
            return;
        }

        AcceptGrants(state, granted.Changes.Where(c => !c.IsDelete).Select(c => c.Value));
        await AfterKeysAsync(state, ct);
    }

    /// <summary>Keeps every grant that the log vouches for; grants for epochs the log does not have yet wait for it.</summary>
    public void AcceptGrants(GroupState state, IEnumerable<byte[]> records)
    {
        var accepted = new List<(long, GroupKey)>();
        foreach (var record in records)
        {
            if (KeyGrant.TryParse(record) is not { } grant)
            {
                core.Warnings.Warn($"grant:{state.Name}", $"group '{state.Name}': ignored a key grant that is not signed");
                continue;
            }

            if (grant.Epoch > state.Log.Epochs.Count && state.FutureGrants.Count < 1000)
            {
                state.FutureGrants.Add(record);
                continue;
            }

            if (core.Keyring.TryGet(state.Name, grant.Epoch) is not null)
            {
                continue;
            }

            if (GroupCommits.Accept(state.Log, grant, core.Identity, out var why) is { } key)
            {
                accepted.Add((grant.Epoch, key));
            }
            else if (state.RefusedGrantEpochs.Count < 100 && state.RefusedGrantEpochs.Add(grant.Epoch))
            {
                // One error per epoch: an etcd writer's pile of grants costs warnings at the rate limit, not a flood.
                core.Emit(new ErrorEvent($"group '{state.Name}': a key grant for epoch {grant.Epoch} was refused ({why})"));
            }
            else
            {
                core.Warnings.Warn($"refused:{state.Name}", $"group '{state.Name}': refused another key grant for epoch {grant.Epoch} ({why})");
            }
        }

        if (accepted.Count > 0)
        {
            core.Keyring.Save(state.Name, accepted);
            LogKeysAccepted(accepted.Count, state.Name, accepted.Max(a => a.Item1));
        }
    }

    /// <summary>After keys arrived: start the group if this peer can now, send what was held, retry parked frames.</summary>
    public async Task AfterKeysAsync(GroupState state, CancellationToken ct)
    {
        if (state.Left)
        {
            return;
        }

        if (!state.Connected)
        {
            await parts.Joiner.StartIfAdmittedAsync(state, ct);
            return;
        }

        state.CanSend = state.Log.Members.ContainsKey(core.PeerId) && core.Keyring.TryGet(state.Name, state.Log.CurrentEpoch.Number) is not null;
        // Numbered when typed, sealed now under the new key, in the order typed.
        core.Sender?.ReleaseHeld(state);

        parts.Receiver.Unpark(state);
    }

    /// <summary>Keys this member should hold and still lacks a while after their epoch began: asked of the others (a
    /// signed, leased record), and the user told while it waits; the ask goes once the keys are here.</summary>
    public void AskForMissingKeys(GroupState state, long now, long wallMs)
    {
        var group = state.Name;
        var asked = _keyRecovery.Asked(group);
        if (_keyRecovery.AskDue(state, core.PeerId, e => core.Keyring.TryGet(group, e) is not null, now) is { } epochs)
        {
            if (!asked)
            {
                // Said once; the ask is made again every 30 s until the keys are here.
                core.Emit(new WaitingEvent(group, $"waiting for the key of epoch {epochs[^1]} of '{group}': asked the other members for it"));
            }

            var record = KeyRequest.Create(group, core.Identity, epochs, wallMs);
            _ = core.Background($"asking for keys of '{group}'", ct => registration.PutAsync(MeshKeys.KeyRequest(group, core.PeerId), record, ct));
        }
        else if (asked && !_keyRecovery.Asked(group))
        {
            _ = core.Background($"withdrawing the key ask of '{group}'", ct => registration.DeleteAsync(MeshKeys.KeyRequest(group, core.PeerId), ct));
        }
    }

    public void OnKeyAsks(GroupState state, IReadOnlyList<KeyChange> changes)
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

            if (KeyRequest.TryParse(change.Value, state.Name) is not { } request || request.PeerId != peerId || peerId == core.PeerId)
            {
                if (peerId != core.PeerId)
                {
                    core.Warnings.Warn($"keyask:{state.Name}", $"group '{state.Name}': ignored a key request that is not signed by the member it names");
                }

                continue;
            }

            _keyRecovery.OnAsk(state, request, e => core.Keyring.TryGet(state.Name, e) is not null, CommitRank.DelayOf(core.PeerId, state.Members.Keys), core.MonoMs);
        }
    }

    /// <summary>Grants again, to members that asked, the keys of epochs they should hold and this peer holds.</summary>
    public void AnswerKeyAsks()
    {
        foreach (var (group, request) in _keyRecovery.AnswersDue(core.MonoMs))
        {
            if (!core.Groups.TryGetValue(group, out var state) || !state.Log.Members.TryGetValue(request.PeerId, out var member))
            {
                continue;
            }

            var grants = request.Due(state.Log).Select(e => (Epoch: e, Key: core.Keyring.TryGet(group, e))).Where(k => k.Key is not null)
                .Select(k => GroupCommits.Regrant(state.Log, core.Identity, member, k.Epoch, k.Key!)).ToList();
            LogRegranting(grants.Count, request.PeerId, group);
            _ = core.Background($"granting keys of '{group}' again", async ct =>
            {
                foreach (var (key, value) in grants)
                {
                    await logStore.PutAsync(key, value, ct);
                }
            });
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 512, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "took {Count} key grants of '{Group}', up to epoch {Epoch}")]
    private partial void LogKeysAccepted(int count, string group, long epoch);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 540, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "granting {Count} keys again to {PeerId}, who asked, in '{Group}'")]
    private partial void LogRegranting(int count, string peerId, string group);
}
