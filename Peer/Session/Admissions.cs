using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Peer.Groups;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary>Who this peer admits and when: invite requests checked, candidates of an open group, rotations after a
/// departure, each at this peer's turn among the online members (<see cref="CommitRank"/>). Session loop only.</summary>
internal sealed partial class Admissions(SessionCore core, SessionParts parts)
{
    private readonly ILogger _log = core.Log;

    public void OnAdmissionRequests(GroupState state, IReadOnlyList<Coordinator.Etcd.KeyChange> changes)
    {
        foreach (var change in changes.Where(c => !c.IsDelete))
        {
            var request = AdmissionRequest.TryParse(change.Value, state.Name);
            if (request is null || change.Key != MeshKeys.Admit(state.Name, request.PeerId))
            {
                core.Warnings.Warn($"admit:{state.Name}", $"group '{state.Name}': ignored an admission request that is not signed with an invite");
                continue;
            }

            // The inviter must be a member now (with the key the log pinned), the invite unused and not expired.
            if (!state.Log.Members.TryGetValue(request.Invite.By, out var inviter) || !inviter.SigningKey.AsSpan().SequenceEqual(request.Invite.SigningKey)
                || state.Log.InviteUsed(request.Invite.Id) || request.Invite.ExpiresAtMs < core.NowMs || state.Log.Members.ContainsKey(request.PeerId))
            {
                continue;
            }

            if (!state.Log.AcceptsConsentOf(NewcomerOf(request)))
            {
                core.Warnings.Warn($"consent:{state.Name}:{request.PeerId}", $"group '{state.Name}': ignored an admission request of {request.PeerId} without its own consent to this group (from an older Mesh, or forged)");
                continue;
            }

            state.Requests[request.PeerId] = request;
            Schedule(state, request.PeerId);
        }
    }

    private static Newcomer NewcomerOf(AdmissionRequest request) =>
        new(new LogMember(request.PeerId, request.PeerSigningKey, request.CurveKey, request.Name, Admin: false), request.Invite.Id, request.Consent);

    /// <summary>Plans this peer's turn to admit <paramref name="peerId"/>, by its rank among the online members.</summary>
    public void Schedule(GroupState state, string peerId)
    {
        if (!state.Connected || state.ActAtMs.ContainsKey(peerId) || state.Log.Members.ContainsKey(peerId))
        {
            return;
        }

        state.ActAtMs[peerId] = core.MonoMs + (long)CommitRank.DelayOf(core.PeerId, state.Members.Keys).TotalMilliseconds;
    }

    public void ScheduleRotation(GroupState state)
    {
        if (state.Connected && state.Log.RotationNeeded && !state.ActAtMs.ContainsKey(""))
        {
            state.ActAtMs[""] = core.MonoMs + (long)CommitRank.DelayOf(core.PeerId, state.Members.Keys).TotalMilliseconds;
        }
    }

    /// <summary>On every tick: the admissions and rotations whose turn has come for this peer. Their commits run in
    /// the background (a slow or frozen etcd never stalls the chat); the outcome comes back as an input.</summary>
    public void ActOnSchedule()
    {
        if (core.EtcdDown)
        {
            return;
        }

        var now = core.MonoMs;
        foreach (var state in core.Groups.Values.Where(s => s.PendingRepairs.Count > 0))
        {
            parts.Follow.RepairDue(state, core.Stopping);
        }

        parts.Keys.AnswerKeyAsks();
        foreach (var state in core.Groups.Values.Where(s => s.Committer.Pending > 0).ToList())
        {
            // A try that etcd did not answer goes again once its pause is over.
            parts.Commits.PumpCommits(state);
        }

        foreach (var state in core.Groups.Values.Where(s => s.Connected).ToList())
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
                parts.Commits.Commit(state, new CommitIntent("a new key epoch after a leave",
                    log => log.RotationNeeded ? GroupCommits.Rotate(log, core.Identity, null, core.NowMs) : null, []));
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
            parts.Commits.Commit(state, new CommitIntent($"admitting {newcomers.Count}",
                log => GroupCommits.AddAll(log, core.Identity, newcomers.Where(n => !log.Members.ContainsKey(n.Member.PeerId)).ToList(), core.Keyring.Of(state.Name), core.NowMs, GroupLogStore.MaxAlongside),
                served));
        }
    }

    /// <summary>Plans again whatever is still to do in a group: admissions of those waiting, a rotation after a leave.</summary>
    public void Replan(GroupState state)
    {
        ScheduleRotation(state);
        foreach (var peerId in state.Candidates.Keys.Concat(state.Requests.Keys).ToList())
        {
            Schedule(state, peerId);
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 515, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "admitting {Count} newcomers to '{Group}'")]
    private partial void LogAdmitting(int count, string group);
}
