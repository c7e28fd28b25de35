using Mesh.Peer.Groups;

namespace Mesh.Peer.Session;

/// <summary><c>/invite</c>: an invite made with the session's own etcd connection and the group log it follows, the way
/// <c>mesh invite</c> makes one (<see cref="InviteIssuer"/>), and its code told to this user alone as an
/// <see cref="InviteEvent"/>, never sent to the group. Checked on the loop; made off it.</summary>
internal sealed class Invitations(SessionCore core, InviteIssuer issuer)
{
    /// <summary>Makes an invite to <paramref name="group"/> valid for <paramref name="lifetime"/>, in the background.</summary>
    public void Invite(string group, TimeSpan lifetime)
    {
        if (!core.Groups.TryGetValue(group, out var state) || state.Leaving || state.Left)
        {
            core.Emit(new ErrorEvent($"/invite: not in group '{group}' (/join {group} first; only members invite)"));
            return;
        }

        if (!state.Log.Members.ContainsKey(core.PeerId))
        {
            core.Emit(new ErrorEvent($"/invite: not a member of '{group}' yet (waiting to be admitted): only members invite"));
            return;
        }

        // Read on the loop, which owns the log: the work off it gets plain values.
        var genesis = state.Log.GenesisHash;
        _ = IssueAsync(group, genesis, lifetime);
    }

    private async Task IssueAsync(string group, string genesis, TimeSpan lifetime)
    {
        try
        {
            var issued = await Task.Run(() => issuer.IssueAsync(group, genesis, lifetime, core.Stopping), CancellationToken.None);
            core.Emit(new InviteEvent(issued.Group, issued.Code, issued.ExpiresAt));
        }
        catch (Exception e) when (e is not OperationCanceledException || !core.Stopping.IsCancellationRequested)
        {
            core.Emit(new ErrorEvent($"/invite {group}: no invite made ({e.Message.ReplaceLineEndings(" ")})"));
        }
    }
}
