using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Membership;
using Mesh.Coordinator.Registry;
using Mesh.Peer.Configuration;
using Mesh.Peer.Node;
using NetMQ;

namespace Mesh.Peer.Session;

/// <summary>The links to members: which the node should follow, how each is doing (told to the user, the monitor and
/// the member pane), and quarantine of a link that sends junk. Session loop only.</summary>
internal sealed class LinkSupervisor(SessionCore core, SessionParts parts, IMeshNode node, EndpointResolver resolver, IPresence registration)
{
    private readonly LinkTable _links = new();
    private (int Connected, int Known) _linksReported;
    private readonly LinkReport _linkReport = new();
    private Task? _linksWrite;
    private volatile bool _linksWriteFailed;
    private LinkRtt? _rttTable;

    /// <summary>Round trips to members, from the beats.</summary>
    public LinkRtt Rtt => _rttTable ??= new LinkRtt(core.PeerId);

    /// <summary>The state of every link the node follows.</summary>
    public LinkTable Table => _links;

    /// <summary>Tells the node the members it should follow now: every member of every joined group.</summary>
    public void ApplyLinks()
    {
        var wanted = new Dictionary<string, (MemberRecord Record, HashSet<string> Groups)>(StringComparer.Ordinal);
        foreach (var state in core.Groups.Values.Where(s => s.Connected))
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

        _links.Follow(wanted.Keys);
        var links = new List<LinkSpec>(wanted.Count);
        foreach (var (peerId, (record, groups)) in wanted)
        {
            if (!_links.Linkable(peerId))
            {
                continue;
            }

            byte[] key;
            try
            {
                key = NetMQCertificate.FromPublicKey(record.PublicKeyZ85).PublicKey;
            }
            catch (Exception e) when (e is ArgumentException or FormatException or IndexOutOfRangeException)
            {
                continue;
            }

            // An endpoint from etcd is untrusted: only tcp://HOST:PORT reaches a socket, and a name is resolved in
            // the background, never on the poller, which would stall every link while it waits.
            if (PeerEndpoint.TryParse(record.Endpoint, out var invalid) is not { } endpoint)
            {
                core.Warnings.Warn($"endpoint:{peerId}", $"not linking to {record.Name} ({peerId}): its endpoint '{Naming.Printable(record.Endpoint)}' is refused ({invalid})");
                continue;
            }

            if (resolver.AddressOf(endpoint, out var unresolved) is not { } address)
            {
                if (unresolved != "resolving")
                {
                    core.Warnings.Warn($"resolve:{peerId}", $"not linking to {record.Name} ({peerId}) yet: {unresolved}; trying again in a minute");
                }

                continue;
            }

            links.Add(new LinkSpec(peerId, endpoint.ConnectTo(address), key, groups));
        }

        node.SetLinks(links);
        ReportLinks();
    }

    public void OnLinkUp(string peerId)
    {
        var news = _links.OnUp(peerId);
        if (news == LinkNews.None)
        {
            return;
        }

        if (news == LinkNews.Back && NameOf(peerId) is { } name)
        {
            NoteLinkGap(peerId);
            core.Instruments.Reconnected("member");
            core.Emit(new ConnectionEvent(name, ConnectionState.Reconnected, Kind: ConnectionKind.Member));
        }

        ReportLinks();
        // The member learns at once what this peer sent, and the round trip is measured again.
        parts.Beats.Soon();
        var now = core.MonoMs;
        foreach (var state in core.Groups.Values)
        {
            if (state.AwaitingLinks.Remove(peerId))
            {
                parts.Lifecycle.TryReady(state, now);
            }
        }
    }

    /// <summary>A link to a member dropped (heartbeat timeout, closed connection) or is being re-established.</summary>
    public void OnLinkTrouble(string peerId, bool retrying)
    {
        var news = _links.OnTrouble(peerId, retrying);
        if (news == LinkNews.None || NameOf(peerId) is not { } name)
        {
            return;
        }

        if (news == LinkNews.Lost)
        {
            NoteLinkGap(peerId);
            core.Emit(new ConnectionEvent(name, ConnectionState.Disconnected, Kind: ConnectionKind.Member));
            ReportLinks();
        }
        else
        {
            core.Emit(new ConnectionEvent(name, ConnectionState.Reconnecting, Kind: ConnectionKind.Member));
        }
    }

    private string? NameOf(string peerId) =>
        core.Groups.Values.Where(g => g.Members.ContainsKey(peerId)).Select(g => g.Label(peerId, g.Members[peerId].Name)).FirstOrDefault();

    /// <summary>Tells the user how many of the members followed have a working link, when that changes.</summary>
    private void ReportLinks()
    {
        var links = (_links.UpCount, _links.Known);
        if (links != _linksReported)
        {
            _linksReported = links;
            core.Instruments.Links(links.UpCount, links.Known);
            core.Emit(new LinksEvent(links.UpCount, links.Known));
        }
    }

    /// <summary>Writes this peer's link states (leased, for mesh monitor) when they differ from what was last written,
    /// one write at a time. Called every tick: which links are up can change while their count stays the same.</summary>
    public void WriteLinksIfChanged()
    {
        if (core.EtcdDown || _linksWrite is { IsCompleted: false })
        {
            return;
        }

        if (_linksWriteFailed)
        {
            _linksWriteFailed = false;
            _linkReport.Forget();
        }

        var nowUs = LinkRtt.NowUs;
        var states = _links.Snapshot();
        var rtt = states.Up.Select(p => (Peer: p, Rtt: Rtt.Of(p, nowUs))).Where(r => r.Rtt is not null)
            .ToDictionary(r => r.Peer, r => Math.Round(r.Rtt!.Value.TotalMilliseconds, 2), StringComparer.Ordinal);
        var record = states with { Rtt = rtt };
        if (!_linkReport.Due(record, core.MonoMs))
        {
            return;
        }

        _linkReport.Written(record, core.MonoMs);
        _linksWrite = WriteLinksAsync(record.ToBytes());
    }

    private async Task WriteLinksAsync(byte[] value)
    {
        try
        {
            await registration.PutAsync(MeshKeys.Links(core.PeerId), value, core.Stopping);
        }
        catch (Exception e) when (e is OperationCanceledException or EtcdUnavailableException or Grpc.Core.RpcException)
        {
            // Written again at the next tick after etcd is back.
            _linksWriteFailed = true;
        }
    }

    /// <summary>Each member's link and round trip, for the chat screen's member pane (not written headless: /members
    /// gives the same on request). Said when a state changes or a round trip moves by a tenth.</summary>
    public void ReportHealth()
    {
        var now = LinkRtt.NowUs;
        // Members of a group this peer still waits to be admitted to are followed, not linked: not reported.
        var members = core.Groups.Values.Where(g => g.Connected).SelectMany(g => g.Members.Keys).ToHashSet(StringComparer.Ordinal);
        Rtt.Keep(members);
        var health = members.Select(p => new LinkHealthEvent.Entry(p, LinkWord(p), Rtt.Of(p, now))).OrderBy(e => e.PeerId, StringComparer.Ordinal).ToList();
        core.Instruments.LinkRtts(health.Where(e => e.Rtt is not null && e.Link == "up")
            .Select(e => (e.PeerId, MemberName(e.PeerId), Math.Round(e.Rtt!.Value.TotalMilliseconds, 3))).ToList());
        if (_healthReported is { } last && last.Count == health.Count && last.Zip(health).All(pair => Same(pair.First, pair.Second)))
        {
            return;
        }

        _healthReported = health;
        core.Emit(new LinkHealthEvent(health));

        static bool Same(LinkHealthEvent.Entry a, LinkHealthEvent.Entry b) =>
            a.PeerId == b.PeerId && a.Link == b.Link && (a.Rtt, b.Rtt) switch
            {
                (null, null) => true,
                ({ } x, { } y) => Math.Abs(x.TotalMilliseconds - y.TotalMilliseconds) <= Math.Max(0.05, 0.1 * x.TotalMilliseconds),
                _ => false,
            };
    }

    private List<LinkHealthEvent.Entry>? _healthReported;

    /// <summary>A member's name as its record gives it (its id when no group knows it).</summary>
    public string MemberName(string peerId) =>
        core.Groups.Values.Select(g => g.Members.GetValueOrDefault(peerId)).FirstOrDefault(m => m is not null)?.Name ?? peerId;

    /// <summary>A link's state in the words the screen and /members use.</summary>
    public string LinkWord(string peerId) => _links.StateOf(peerId) switch
    {
        LinkState.Up => "up",
        LinkState.Connecting => "connecting",
        LinkState.Down => "down",
        LinkState.Reconnecting => "reconnecting",
        LinkState.Quarantined => "cut (sent junk)",
        _ => "not linked",
    };

    /// <summary>Links went down or came back: what was sent meanwhile is in history only.</summary>
    private void NoteLinkGap(string peerId)
    {
        foreach (var state in core.Groups.Values.Where(g => g.Members.ContainsKey(peerId)))
        {
            state.Sweep?.NoteGap();
        }
    }
}
