using Mesh.Peer.Groups;

namespace Mesh.Peer.Session;

/// <summary>Keys a member should hold and lacks (a rotation's author who wrapped it to some members only, a grant an etcd
/// writer deleted or replaced): when to ask the others for them, and which asks of others this peer answers, when.
/// Decides only; the session writes and deletes the records. Session loop only.</summary>
internal sealed class KeyRecovery
{
    /// <summary>How long a member waits for a key it lacks before it asks (grants usually land with their epoch).</summary>
    public static readonly TimeSpan AskAfter = TimeSpan.FromSeconds(5);

    /// <summary>How long an ask stands before it is made again (another member may answer it then).</summary>
    public static readonly TimeSpan AskAgainAfter = TimeSpan.FromSeconds(30);

    /// <summary>The shortest time between two answers to one member: a member asking in a loop costs grants at this rate.</summary>
    public static readonly TimeSpan AnswerAtMost = TimeSpan.FromSeconds(10);

    private readonly Dictionary<string, (long MissingSinceMs, long AskedAtMs)> _asking = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Group, string PeerId), (KeyRequest Request, long ActAtMs)> _asked = [];
    private readonly Dictionary<(string Group, string PeerId), long> _answeredAtMs = [];

    /// <summary>The epochs this peer should ask for now in <paramref name="state"/> (null: nothing to ask now), given
    /// which epochs of the log it holds a key for.</summary>
    public IReadOnlyList<long>? AskDue(GroupState state, string self, Func<long, bool> holds, long nowMs)
    {
        var missing = state.Log.Members.ContainsKey(self) && !state.Leaving
            ? Enumerable.Range(1, (int)state.Log.CurrentEpoch.Number).Select(e => (long)e).Where(e => !holds(e)).TakeLast(KeyRequest.MaxEpochs).ToList()
            : [];
        if (missing.Count == 0)
        {
            _asking.Remove(state.Name);
            return null;
        }

        if (!_asking.TryGetValue(state.Name, out var asking))
        {
            _asking[state.Name] = (nowMs, 0);
            return null;
        }

        if (nowMs - asking.MissingSinceMs < AskAfter.TotalMilliseconds || (asking.AskedAtMs > 0 && nowMs - asking.AskedAtMs < AskAgainAfter.TotalMilliseconds))
        {
            return null;
        }

        _asking[state.Name] = asking with { AskedAtMs = nowMs };
        return missing;
    }

    /// <summary>Whether this peer asked in <paramref name="group"/> and now holds every key (its ask can go).</summary>
    public bool Asked(string group) => _asking.TryGetValue(group, out var asking) && asking.AskedAtMs > 0;

    /// <summary>Takes another member's ask: answered after <paramref name="delay"/> (this peer's rank among the online
    /// members), unless the ask is withdrawn first. Asks of non-members, and of epochs this peer does not hold, are
    /// not kept.</summary>
    public void OnAsk(GroupState state, KeyRequest request, Func<long, bool> holds, TimeSpan delay, long nowMs)
    {
        if (request.Due(state.Log).Any(holds))
        {
            _asked[(state.Name, request.PeerId)] = (request, nowMs + (long)delay.TotalMilliseconds);
        }
    }

    /// <summary>The ask was withdrawn (its record deleted): the member has its keys.</summary>
    public void Withdrawn(string group, string peerId) => _asked.Remove((group, peerId));

    /// <summary>The asks whose turn has come, with the epochs to grant; each is answered once, and one member at most
    /// every <see cref="AnswerAtMost"/>.</summary>
    public IReadOnlyList<(string Group, KeyRequest Request)> AnswersDue(long nowMs)
    {
        var due = new List<(string, KeyRequest)>();
        foreach (var (key, (request, actAtMs)) in _asked.ToList())
        {
            if (actAtMs > nowMs)
            {
                continue;
            }

            _asked.Remove(key);
            if (_answeredAtMs.TryGetValue(key, out var last) && nowMs - last < AnswerAtMost.TotalMilliseconds)
            {
                continue;
            }

            _answeredAtMs[key] = nowMs;
            due.Add((key.Group, request));
        }

        if (_answeredAtMs.Count > 10_000)
        {
            _answeredAtMs.Clear();
        }

        return due;
    }

    /// <summary>Forgets a group this peer left.</summary>
    public void Forget(string group)
    {
        _asking.Remove(group);
        foreach (var key in _asked.Keys.Where(k => k.Group == group).ToList())
        {
            _asked.Remove(key);
        }
    }
}
