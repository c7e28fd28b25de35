using Mesh.Coordinator.Membership;

namespace Mesh.Peer.Session;

/// <summary>Where one link to a followed member stands.</summary>
internal enum LinkState
{
    /// <summary>Followed, no hello yet (just followed, or its endpoint changed).</summary>
    Connecting,

    /// <summary>A hello arrived and no trouble since.</summary>
    Up,

    /// <summary>Lost (heartbeat timeout, closed connection); the user was told.</summary>
    Down,

    /// <summary>Lost, and the socket is retrying on its own schedule; the user was told that too.</summary>
    Reconnecting,

    /// <summary>Cut for a while for sending junk (see <see cref="LinkTable.Quarantine"/>); not linked until it ends.</summary>
    Quarantined,
}

/// <summary>What a transition means to the rest of the session.</summary>
internal enum LinkNews
{
    /// <summary>Nothing to tell.</summary>
    None,

    /// <summary>The first hello of a followed member.</summary>
    Connected,

    /// <summary>Up again after it was lost or cut: what it sent meanwhile is in history.</summary>
    Back,

    /// <summary>Lost: a gap may have opened.</summary>
    Lost,

    /// <summary>The socket retries (said once per outage).</summary>
    Reconnecting,
}

/// <summary>The links to the members this peer follows, one small state machine each, and their retry policy. Session
/// loop only; no sockets: the node is told which links to hold (<see cref="Linkable"/>), the table hears what they do.</summary>
/// <remarks>
/// <code>
///   Follow ──► Connecting ──hello──► Up ──trouble──► Down ──retrying──► Reconnecting
///                  ▲                 ▲                 │                    │
///                  │                 └──────hello──────┴────────────────────┘  (Back)
///   endpoint moved─┘   any ──junk──► Quarantined ──QuarantineTime later──► Connecting (Back at its hello)
/// </code>
/// Retry policy: a lost link is retried by its socket, 100–200 ms at first, doubling to 5 s (set on the SUB socket);
/// a quarantined one is not linked at all for <see cref="QuarantineTime"/>; an endpoint that cannot be resolved is
/// tried again by the resolver.
/// </remarks>
internal sealed class LinkTable
{
    public static readonly TimeSpan QuarantineTime = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, Entry> _links = new(StringComparer.Ordinal);

    /// <summary>Members followed.</summary>
    public int Known => _links.Count;

    /// <summary>Members whose link is up.</summary>
    public int UpCount { get; private set; }

    public LinkState? StateOf(string peerId) => _links.TryGetValue(peerId, out var entry) ? entry.State : null;

    public bool IsUp(string peerId) => StateOf(peerId) == LinkState.Up;

    /// <summary>Whether the node should hold a link to this member now.</summary>
    public bool Linkable(string peerId) => _links.TryGetValue(peerId, out var entry) && entry.State != LinkState.Quarantined;

    /// <summary>The members to follow from now on: new ones start connecting, the others are forgotten.</summary>
    public void Follow(IEnumerable<string> wanted)
    {
        var keep = new HashSet<string>(wanted, StringComparer.Ordinal);
        foreach (var peerId in _links.Keys.Where(p => !keep.Contains(p)).ToList())
        {
            Set(peerId, null);
        }

        foreach (var peerId in keep.Where(p => !_links.ContainsKey(p)))
        {
            _links[peerId] = new Entry { State = LinkState.Connecting };
        }
    }

    /// <summary>A hello from the member: its link works.</summary>
    public LinkNews OnUp(string peerId)
    {
        if (!_links.TryGetValue(peerId, out var entry) || entry.State is LinkState.Up or LinkState.Quarantined)
        {
            return LinkNews.None;
        }

        var news = entry.State == LinkState.Connecting && !entry.WasLost ? LinkNews.Connected : LinkNews.Back;
        entry.WasLost = false;
        Set(peerId, LinkState.Up);
        return news;
    }

    /// <summary>The link dropped (<paramref name="retrying"/> false) or its socket is trying again (true).</summary>
    public LinkNews OnTrouble(string peerId, bool retrying)
    {
        if (!_links.TryGetValue(peerId, out var entry))
        {
            return LinkNews.None;
        }

        switch (entry.State)
        {
            case LinkState.Up or LinkState.Connecting when !retrying:
                Set(peerId, LinkState.Down);
                return LinkNews.Lost;
            case LinkState.Down when retrying:
                Set(peerId, LinkState.Reconnecting);
                return LinkNews.Reconnecting;
            default:
                return LinkNews.None;
        }
    }

    /// <summary>The member came back from elsewhere (another endpoint or key): its old link is useless until a new
    /// hello arrives, which is not news.</summary>
    public void OnMoved(string peerId)
    {
        if (StateOf(peerId) == LinkState.Up)
        {
            Set(peerId, LinkState.Connecting);
        }
    }

    /// <summary>Cuts the link until <paramref name="nowMs"/> + <see cref="QuarantineTime"/>.</summary>
    public void Quarantine(string peerId, long nowMs)
    {
        if (_links.TryGetValue(peerId, out var entry))
        {
            entry.QuarantinedUntilMs = nowMs + (long)QuarantineTime.TotalMilliseconds;
            entry.WasLost = true;
            Set(peerId, LinkState.Quarantined);
        }
    }

    /// <summary>Ends the quarantines that are over; true when one ended (the node should be told).</summary>
    public bool ReleaseDue(long nowMs)
    {
        var released = false;
        foreach (var (peerId, entry) in _links.Where(l => l.Value.State == LinkState.Quarantined && l.Value.QuarantinedUntilMs <= nowMs).ToList())
        {
            Set(peerId, LinkState.Connecting);
            released = true;
        }

        return released;
    }

    /// <summary>Which followed links are up and which are not, in peer id order (what <c>mesh monitor</c> reads).</summary>
    public LinkStates Snapshot()
    {
        var known = _links.Keys.Order(StringComparer.Ordinal).ToList();
        return new LinkStates(known.Where(IsUp).ToList(), known.Where(p => !IsUp(p)).ToList());
    }

    private void Set(string peerId, LinkState? state)
    {
        var entry = _links[peerId];
        if (entry.State == LinkState.Up)
        {
            UpCount--;
        }

        if (state is not { } next)
        {
            _links.Remove(peerId);
            return;
        }

        if (next is LinkState.Down or LinkState.Reconnecting)
        {
            entry.WasLost = true;
        }

        entry.State = next;
        if (next == LinkState.Up)
        {
            UpCount++;
        }
    }

    private sealed class Entry
    {
        public LinkState State { get; set; }

        /// <summary>Lost or cut since its last hello: the next hello is <see cref="LinkNews.Back"/>.</summary>
        public bool WasLost { get; set; }

        public long QuarantinedUntilMs { get; set; }
    }
}
