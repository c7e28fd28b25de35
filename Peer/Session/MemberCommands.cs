using Mesh.Peer.Configuration;
using Mesh.Peer.Groups;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary><c>/remove</c>, <c>/admin</c> and <c>/members</c>: changes to who may do what, queued as commits, and the
/// member list. Session loop only.</summary>
internal sealed partial class MemberCommands(SessionCore core, SessionParts parts)
{
    private readonly ILogger _log = core.Log;

    /// <summary><c>/remove NAME</c>: removes a member and starts a new epoch whose key it never receives.</summary>
    public void Remove(string group, string? label)
    {
        if (!core.Groups.TryGetValue(group, out var state) || !state.Connected)
        {
            core.Emit(new ErrorEvent("/remove: not in a group"));
            return;
        }

        if (string.IsNullOrWhiteSpace(label))
        {
            core.Emit(new ErrorEvent(LineCommand.UsageError(LineCommand.Kinds.Remove, "name a member (NAME, or NAME#FINGERPRINT when two share a name)")));
            return;
        }

        if (DisplayNames.Find(state.Log, label, out var error) is not { } target)
        {
            core.Emit(new ErrorEvent(LineCommand.UsageError(LineCommand.Kinds.Remove, Naming.Printable(error))));
            return;
        }

        var self = state.Log.Members.GetValueOrDefault(core.PeerId);
        if (self is null || (state.Log.Creator != core.PeerId && !self.Admin))
        {
            core.Emit(new ErrorEvent($"/remove: only the creator of '{state.Name}' or an admin may remove members"));
            return;
        }

        if (target.PeerId == core.PeerId || target.PeerId == state.Log.Creator)
        {
            core.Emit(new ErrorEvent(target.PeerId == core.PeerId ? "/remove: to leave, use /leave" : "/remove: the creator cannot be removed"));
            return;
        }

        LogRemoving(target.Name, target.PeerId, state.Name);
        parts.Commits.Commit(state, RemovalOf(state, target));
    }

    /// <summary>Removing a member, tried until it lands or is no longer needed (the member went meanwhile).</summary>
    private CommitIntent RemovalOf(GroupState state, LogMember target) =>
        new($"/remove {Naming.Printable(target.Name)}", log => log.Members.ContainsKey(target.PeerId)
            ? GroupCommits.Rotate(log, core.Identity, target.PeerId, core.NowMs, GroupLog.CutOf(state.Streams.Of(target.PeerId)))
            : null, [])
        {
            Then = end =>
            {
                if (end == CommitEnd.NotNeeded && core.Groups.ContainsKey(state.Name))
                {
                    core.Emit(new InfoEvent($"/remove: {Naming.Printable(target.Name)} is no longer a member of '{state.Name}'", state.Name));
                }
                else if (end == CommitEnd.GaveUp && core.Groups.ContainsKey(state.Name))
                {
                    parts.Commits.Commit(state, RemovalOf(state, target));
                }

                return Task.CompletedTask;
            },
        };

    /// <summary><c>/admin NAME</c> (the creator only): lets a member remove others.</summary>
    public void GrantAdmin(string group, string? label)
    {
        if (!core.Groups.TryGetValue(group, out var state) || !state.Connected)
        {
            core.Emit(new ErrorEvent("/admin: not in a group"));
            return;
        }

        if (state.Log.Creator != core.PeerId)
        {
            core.Emit(new ErrorEvent($"/admin: only the creator of '{state.Name}' may make admins"));
            return;
        }

        if (string.IsNullOrWhiteSpace(label))
        {
            core.Emit(new ErrorEvent(LineCommand.UsageError(LineCommand.Kinds.Admin, "name a member")));
            return;
        }

        if (DisplayNames.Find(state.Log, label, out var error) is not { } target)
        {
            core.Emit(new ErrorEvent(LineCommand.UsageError(LineCommand.Kinds.Admin, Naming.Printable(error))));
            return;
        }

        if (target.Admin)
        {
            core.Emit(new ErrorEvent($"/admin: {target.Name} may remove members already"));
            return;
        }

        parts.Commits.Commit(state, AdminOf(state, target));
    }

    private CommitIntent AdminOf(GroupState state, LogMember target) =>
        new($"/admin {Naming.Printable(target.Name)}", log => log.Members.TryGetValue(target.PeerId, out var m) && !m.Admin ? GroupCommits.Admin(log, core.Identity, target.PeerId, core.NowMs) : null, [])
        {
            Then = end =>
            {
                if (end == CommitEnd.Landed && core.Groups.ContainsKey(state.Name))
                {
                    core.Emit(new InfoEvent($"/admin: {Naming.Printable(target.Name)} may now remove members of '{state.Name}'", state.Name));
                }
                else if (end == CommitEnd.NotNeeded && core.Groups.ContainsKey(state.Name))
                {
                    core.Emit(new InfoEvent($"/admin: {Naming.Printable(target.Name)} is an admin already, or no longer a member", state.Name));
                }
                else if (end == CommitEnd.GaveUp && core.Groups.ContainsKey(state.Name))
                {
                    parts.Commits.Commit(state, AdminOf(state, target));
                }

                return Task.CompletedTask;
            },
        };

    /// <summary><c>/members</c>: the group's members as its log holds them, and who is online.</summary>
    public void ListMembers(string group)
    {
        if (!core.Groups.TryGetValue(group, out var state))
        {
            core.Emit(new ErrorEvent("/members: not in a group"));
            return;
        }

        var list = state.Log.Members.Values
            .Select(m => new MembersEvent.Entry(state.Label(m.PeerId, m.Name), m.PeerId, m.PeerId == core.PeerId || state.Members.ContainsKey(m.PeerId),
                m.PeerId == state.Log.Creator ? "creator" : m.Admin ? "admin" : "member")
            {
                Link = m.PeerId == core.PeerId ? "self" : state.Members.ContainsKey(m.PeerId) ? parts.Links.LinkWord(m.PeerId) : "offline",
                Rtt = parts.Links.Rtt.Of(m.PeerId, LinkRtt.NowUs),
            })
            .OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        // The epoch this peer seals under now: the log's, once its key is here.
        var sending = state.CanSend ? state.Log.CurrentEpoch.Number : core.Keyring.Of(state.Name).Keys.DefaultIfEmpty(0).Max();
        core.Emit(new MembersEvent(state.Name, sending, list));
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 513, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "removing {Name} ({PeerId}) from '{Group}': committing a new epoch")]
    private partial void LogRemoving(string name, string peerId, string group);
}
