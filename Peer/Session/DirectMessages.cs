using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Peer.Configuration;
using Mesh.Peer.Groups;

namespace Mesh.Peer.Session;

/// <summary>Direct conversations: opened by <c>/msg NAME</c> (or <c>--dm NAME</c>), found by the other member through the
/// notices under its own prefix, which it follows from the start and checks against the signed logs of the groups it is
/// in; each is then joined like a group (see <see cref="GroupJoiner"/>), admitted by the genesis that names both. Session
/// loop only.</summary>
internal sealed class DirectMessages(SessionCore core, SessionParts parts, IGroupLogStore logStore)
{
    private IAsyncDisposable? _watch;

    /// <summary>Notices refused so far (not a valid direct genesis naming this peer, or its other member shares no group).</summary>
    public long Refused { get; private set; }

    /// <summary>Follows this peer's notices from the first revision (after the groups named at start are joined: their
    /// logs vouch for the other members). Nothing waits for etcd here: the watch replays what is there, or, once those
    /// revisions are compacted, lists the notices again in the background until it can; a peer started while etcd is
    /// out of reach starts all the same.</summary>
    public void Start()
    {
        var prefix = MeshKeys.DirectPrefix(core.PeerId);
        _watch = parts.Watches.Watch(prefix, 1, changes => new SessionInput.DirectNotices(changes),
            reread: async ct => new SessionInput.DirectNotices((await logStore.ListAsync(prefix, 1000, ct)).Values
                .Select(n => new KeyChange(n.Key, false, n.Value, 0, 0)).ToList()));
    }

    public async Task StopAsync()
    {
        if (_watch is not null)
        {
            await _watch.DisposeAsync();
            _watch = null;
        }
    }

    /// <summary>Notices came: each valid one for a conversation not joined yet is joined in its lane; the rest are
    /// counted and warned of at the warnings' rate, never acted on. A valid notice whose other member shares no group
    /// with this peer yet (a shared group still being joined) waits, a bounded few, until the groups change.</summary>
    public void OnNotices(IReadOnlyList<KeyChange> changes)
    {
        foreach (var change in changes)
        {
            _unvouched.Remove(change.Key);
            if (change.IsDelete)
            {
                continue;
            }

            if (DirectNotice.Read(change.Key, change.Value, core.Identity, out var why) is not { } found)
            {
                Refused++;
                core.Warnings.Warn("direct-notice", $"ignored a direct conversation notice at {Naming.Printable(change.Key)}: {why} ({Refused} ignored so far)");
                continue;
            }

            if (!core.Groups.ContainsKey(found.Group) && !Vouch(found) && _unvouched.Count < MaxUnvouched)
            {
                _unvouched[change.Key] = found;
            }
        }
    }

    private List<string> _toOpen = [];

    /// <summary>Opens the conversations with <paramref name="names"/> (<c>--dm</c>) once every group joined is ready:
    /// before that this peer may not be a member yet, and no log vouches for anyone.</summary>
    public void OpenWhenReady(IReadOnlyList<string> names) => _toOpen = [.. names];

    /// <summary>On every tick: the conversations asked for at start, once the groups are ready; and, when the groups
    /// this peer is in changed (one joined, a log moved on), the notices that waited for a shared group.</summary>
    public void RecheckWaiting()
    {
        if (_toOpen.Count > 0 && core.Groups.Values.All(s => s.Ready || s.Left))
        {
            var logs = core.Groups.Values.Where(s => s.Follower is not null).Select(s => s.Log).ToList();
            foreach (var name in _toOpen)
            {
                if (DirectPartner.Resolve(name, core.PeerId, core.Name, logs, out var problem) is { } partner)
                {
                    core.Post(new SessionInput.DirectLine(DirectName.Of(core.PeerId, partner.PeerId), partner, null) { Typed = false });
                }
                else
                {
                    core.Emit(new ErrorEvent($"--dm {Naming.Printable(name)}: {problem}"));
                }
            }

            _toOpen = [];
        }

        if (_unvouched.Count == 0)
        {
            return;
        }

        var shape = SharedShape();
        if (shape == _checkedShape)
        {
            return;
        }

        _checkedShape = shape;
        foreach (var (key, found) in _unvouched.ToList())
        {
            if (core.Groups.ContainsKey(found.Group) || Vouch(found))
            {
                _unvouched.Remove(key);
            }
        }
    }

    /// <summary>The most notices kept waiting for a shared group: an etcd writer's pile of them costs this much.</summary>
    private const int MaxUnvouched = 100;

    private readonly Dictionary<string, (string Group, LogMember Partner)> _unvouched = new(StringComparer.Ordinal);
    private long _checkedShape;

    /// <summary>Joins the conversation when a group this peer is in vouches for its other member; false when none does.</summary>
    private bool Vouch((string Group, LogMember Partner) found)
    {
        var shared = core.Groups.Values.Where(s => s.Follower is not null && s.Log.Members.ContainsKey(core.PeerId)).Select(s => s.Log);
        if (DirectNotice.SharedMember(found.Partner, shared) is null)
        {
            return false;
        }

        if (!core.Groups.ContainsKey(found.Group))
        {
            core.Labels.Add(found.Group, found.Partner.Name, found.Partner.PeerId);
            core.Post(new SessionInput.DirectFound(found.Group, found.Partner));
        }

        return true;
    }

    /// <summary>What vouching depends on, in one number: the groups and how far their logs are.</summary>
    private long SharedShape()
    {
        var shape = 17L;
        foreach (var state in core.Groups.Values.Where(s => s.Follower is not null))
        {
            shape = shape * 31 + HashCode.Combine(state.Name, state.Log.Head);
        }

        return shape;
    }

    /// <summary>Joins a conversation found through a notice, in its lane. A failure is the notice's, not the user's
    /// (a conversation this peer left stays left): it is warned of, not shown.</summary>
    public async Task JoinFoundAsync(SessionInput.DirectFound found, CancellationToken ct)
    {
        if (core.Groups.ContainsKey(found.Group))
        {
            return;
        }

        try
        {
            await parts.Joiner.JoinWithRetriesAsync(found.Group, new JoinRequest(Direct: found.Partner), ct);
        }
        catch (MeshException e)
        {
            core.Warnings.Warn($"direct:{found.Group}", $"not joining the direct conversation '{found.Group}' with {found.Partner.Name}: {e.Message}");
        }
    }

    /// <summary>Opens the conversation with <paramref name="partner"/> if this peer is not in it yet: created when it does
    /// not exist, joined when it does.</summary>
    public async Task OpenAsync(string group, LogMember partner, CancellationToken ct)
    {
        if (core.Groups.ContainsKey(group))
        {
            return;
        }

        core.Labels.Add(group, partner.Name, partner.PeerId);
        await parts.Joiner.JoinWithRetriesAsync(group, new JoinRequest(Direct: partner), ct);
    }
}
