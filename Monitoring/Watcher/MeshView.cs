using System.Globalization;
using System.Threading.Channels;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.Membership;

namespace Mesh.Monitoring.Watcher;

/// <summary>What mesh monitor knows of the mesh, built from etcd changes: peers, groups, link states, lease
/// expiries, etcd's members, and per-second message rate and send-to-history latency over the last minutes. A peer
/// counts as online, and a member as a member, only on a record signed by that peer (etcd is no authority: any Mesh
/// user can write any key); a peer record that is not is listed as <see cref="PeerVerdict.Unsigned"/>.</summary>
/// <remarks>Changes come from the watch task, health from the health task, snapshots from web requests: one lock
/// guards it all, held only for short in-memory work.</remarks>
public sealed class MeshView
{
    /// <summary>How far back the graphs go.</summary>
    public const int WindowSeconds = 300;

    private const int MaxEvents = 200;
    private const int MaxLatencySamplesPerSecond = 2_000;

    private readonly object _lock = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, PeerEntry> _peers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LinkStates> _links = new(StringComparer.Ordinal);
    private readonly HashSet<string> _leaving = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GroupRecord?> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EndpointHealth> _endpoints = new(StringComparer.Ordinal);
    private readonly LinkedList<MeshEventView> _events = new();
    private readonly SortedDictionary<long, Second> _seconds = new();
    private readonly Dictionary<string, long> _messagesByGroup = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GonePeer> _gone = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _suspectSince = new(StringComparer.Ordinal);
    private long _leaseExpiries;

    /// <summary>How long a failed peer stays listed when the monitor is not told otherwise.</summary>
    public static readonly TimeSpan DefaultKeepFailed = TimeSpan.FromMinutes(10);

    private readonly TimeSpan _keepFailed;

    /// <summary>How long etcd may fail to answer before the page says that what it shows from etcd is stale.</summary>
    public static readonly TimeSpan EtcdStaleAfter = TimeSpan.FromSeconds(5);

    /// <summary>How long InfluxDB may fail before the page says so.</summary>
    public static readonly TimeSpan InfluxStaleAfter = TimeSpan.FromSeconds(5);

    private readonly Func<MemberRecord, string, bool> _isValidlySigned;

    /// <param name="isValidlySigned">Whether a record is signed by the peer it names, for the group given ("" for a
    /// presence record): the peers' own check (<c>MemberSignature.IsValid</c>), handed in by the monitor.</param>
    public MeshView(Func<MemberRecord, string, bool> isValidlySigned, TimeProvider? time = null, TimeSpan? keepFailed = null, bool influxConfigured = false)
    {
        _isValidlySigned = isValidlySigned;
        _time = time ?? TimeProvider.System;
        _keepFailed = keepFailed ?? DefaultKeepFailed;
        // etcd is checked every 2 s (each check bounded to 3 s), InfluxDB read every 5 s.
        Etcd = new SourceFreshness("etcd", EtcdStaleAfter, TimeSpan.FromSeconds(10), _time);
        Influx = new SourceFreshness("InfluxDB", InfluxStaleAfter, TimeSpan.FromSeconds(20), _time, influxConfigured);
        Etcd.Changed += text => AddEvent(text, MeshEventKinds.Source);
        Influx.Changed += text => AddEvent(text, MeshEventKinds.Source);
    }

    /// <summary>How current what came from etcd is (peers, groups, links, members' health).</summary>
    public SourceFreshness Etcd { get; }

    /// <summary>How current what came from InfluxDB is (peers' own figures), and whether the monitor's reports reach it.</summary>
    public SourceFreshness Influx { get; }

    /// <summary>A peer record as etcd holds it, the lease it lives under, and why it is not trusted (null when it is
    /// signed by the peer it names, as its presence record).</summary>
    private sealed record PeerEntry(MemberRecord Record, long Lease, string? Unsigned)
    {
        public bool Signed => Unsigned is null;
    }

    /// <summary>A peer whose presence record went without a leaving mark, as it was last seen: <see cref="PeerVerdict.Failed"/>
    /// once its lease is known to be gone, else <see cref="PeerVerdict.Deleted"/> (its record was deleted while its
    /// lease lives, or the lease could not be checked, or is being checked: <paramref name="Checking"/> names that lease).</summary>
    private sealed record GonePeer(MemberRecord Record, IReadOnlyList<string> Groups, string State, string Cause, long AtMs, long? Checking = null);

    /// <summary>Lease checks asked at most at once; past that, a deletion is told as such, its lease not checked.</summary>
    public const int MaxPendingLeaseChecks = 1_024;

    private readonly Channel<LeaseCheck> _leaseChecks = Channel.CreateBounded<LeaseCheck>(new BoundedChannelOptions(MaxPendingLeaseChecks) { SingleReader = true });

    /// <summary>The leases to check before the view says a peer's lease expired (decided here, asked by the watcher,
    /// answered with <see cref="LeaseChecked"/>): anyone can delete a presence record, only etcd can expire a lease.</summary>
    public ChannelReader<LeaseCheck> LeaseChecks => _leaseChecks.Reader;

    /// <summary>Raised (outside the lock) with each message seen stored in history: its group and its latency in ms.</summary>
    public event Action<string, double>? MessageStored;

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Replaces everything known of peers, groups, members and links with a fresh read of etcd.</summary>
    public void Load(IEnumerable<KeyChange> current)
    {
        lock (_lock)
        {
            _peers.Clear();
            _links.Clear();
            _leaving.Clear();
            _groups.Clear();
            _members.Clear();
            foreach (var change in current)
            {
                GuardedApplyLocked(change, NowMs, loading: true);
            }
        }
    }

    public void Apply(IReadOnlyList<KeyChange> changes)
    {
        var stored = new List<(string Group, double Latency)>();
        lock (_lock)
        {
            var now = NowMs;
            foreach (var change in changes)
            {
                if (GuardedApplyLocked(change, now, loading: false) is { } message)
                {
                    stored.Add(message);
                }
            }
        }

        foreach (var (group, latency) in stored)
        {
            MessageStored?.Invoke(group, latency);
        }
    }

    /// <summary>Changes skipped because applying them failed: none should be, since every value is read through
    /// <see cref="RecordReader"/>; this is the last line that keeps one record from stopping the watch (which would
    /// replay it for ever) or the page.</summary>
    private long _changesSkipped;

    private (string, double)? GuardedApplyLocked(KeyChange change, long now, bool loading)
    {
        try
        {
            return ApplyLocked(change, now, loading);
        }
        catch (Exception e)
        {
            if (_changesSkipped++ == 0)
            {
                AddEvent(now, MeshEventKinds.Monitor, $"a record under {Display(change.Key, MaxShownText)} could not be applied ({e.GetType().Name}); skipped (said once)");
            }

            return null;
        }
    }

    private (string, double)? ApplyLocked(KeyChange change, long now, bool loading)
    {
        var key = change.Key;
        if (key.StartsWith(MeshKeys.HistoryRoot, StringComparison.Ordinal))
        {
            FollowHistoryCount(key[MeshKeys.HistoryRoot.Length..], change);
            return change.IsDelete ? null : CountMessage(key[MeshKeys.HistoryRoot.Length..], now);
        }

        if (key.StartsWith(MeshKeys.PeersPrefix, StringComparison.Ordinal))
        {
            if (RecordReader.IsId(key[MeshKeys.PeersPrefix.Length..]))
            {
                ApplyPeer(key[MeshKeys.PeersPrefix.Length..], change, now, loading);
            }
        }
        else if (key.StartsWith(MeshKeys.LeavingPrefix, StringComparison.Ordinal))
        {
            if (!change.IsDelete && RecordReader.IsId(key[MeshKeys.LeavingPrefix.Length..]))
            {
                _leaving.Add(key[MeshKeys.LeavingPrefix.Length..]);
            }
        }
        else if (key.StartsWith(MeshKeys.LinksPrefix, StringComparison.Ordinal))
        {
            var peer = key[MeshKeys.LinksPrefix.Length..];
            if (!RecordReader.IsId(peer))
            {
                return null;
            }

            if (!change.IsDelete && RecordReader.ReadLinks(change.Value) is { } states)
            {
                if (!loading && _links.GetValueOrDefault(peer) is { } before)
                {
                    NoteLinkChanges(peer, before, states, now);
                }

                _links[peer] = states;
            }
            else
            {
                _links.Remove(peer);
            }
        }
        else if (key.StartsWith(MeshKeys.GroupsPrefix, StringComparison.Ordinal))
        {
            var group = key[MeshKeys.GroupsPrefix.Length..];
            if (!RecordReader.IsGroupName(group))
            {
                return null;
            }

            if (change.IsDelete)
            {
                _groups.Remove(group);
            }
            else
            {
                if (!loading && !_groups.ContainsKey(group))
                {
                    AddEvent(now, MeshEventKinds.Group, $"group '{Display(group, MaxShownText)}' created");
                    _inHistory.TryAdd(group, 0);
                }

                _groups[group] = RecordReader.ReadGroup(change.Value);
            }
        }
        else if (key.StartsWith(MeshKeys.MembersRoot, StringComparison.Ordinal))
        {
            var rest = key[MeshKeys.MembersRoot.Length..];
            var slash = rest.LastIndexOf('/');
            if (slash > 0 && RecordReader.IsGroupName(rest[..slash]) && RecordReader.IsId(rest[(slash + 1)..]))
            {
                var (group, peer) = (rest[..slash], rest[(slash + 1)..]);
                // A member counts on its own signed record for this group; anything else at its key (deleted, junk,
                // another peer's record, another group's) means it is not one, and junk keeps no group's entry alive.
                if (!change.IsDelete && RecordReader.ReadMember(change.Value) is { } record && UnsignedReason(peer, record, group) is null)
                {
                    if (!_members.TryGetValue(group, out var members))
                    {
                        _members[group] = members = new HashSet<string>(StringComparer.Ordinal);
                    }

                    members.Add(peer);
                }
                else if (_members.TryGetValue(group, out var members) && members.Remove(peer) && members.Count == 0)
                {
                    _members.Remove(group);
                }
            }
        }

        return null;
    }

    /// <summary>Events for links that went down or came back in a peer's new report (a link first reported, or to a
    /// peer that is leaving or gone, is no event: joins and departures are told as such). At most
    /// <see cref="MaxLinkEventsPerReport"/> per report: a report is as hostile as any etcd record.</summary>
    private void NoteLinkChanges(string peer, LinkStates before, LinkStates after, long now)
    {
        var wasUp = before.Up.ToHashSet(StringComparer.Ordinal);
        var wasDown = before.Down.ToHashSet(StringComparer.Ordinal);
        if (_peers.GetValueOrDefault(peer) is not { Signed: true } reporter)
        {
            return;
        }

        var from = Display(reporter.Record.Name);
        var told = 0;
        foreach (var (target, up) in after.Down.Where(wasUp.Contains).Select(t => (t, false)).Concat(after.Up.Where(wasDown.Contains).Select(t => (t, true))))
        {
            if (_peers.GetValueOrDefault(target) is not { Signed: true } to || _leaving.Contains(target))
            {
                continue;
            }

            // Up again only after a down was told: a member's link coming up as it joins is its join.
            if (up && !_linksToldDown.Contains((peer, target)))
            {
                continue;
            }

            if (told++ == MaxLinkEventsPerReport)
            {
                break;
            }

            if (up)
            {
                _linksToldDown.Remove((peer, target));
            }
            else
            {
                _linksToldDown.Add((peer, target));
            }

            AddEvent(now, up ? MeshEventKinds.LinkUp : MeshEventKinds.LinkDown,
                $"link {from} → {Display(to.Record.Name)} {(up ? "up again" : "down")}");
        }
    }

    private const int MaxLinkEventsPerReport = 32;

    /// <summary>Links whose going down was told and whose coming back was not yet (observer, target).</summary>
    private readonly HashSet<(string From, string To)> _linksToldDown = [];

    private void ApplyPeer(string peer, KeyChange change, long now, bool loading)
    {
        if (!change.IsDelete)
        {
            if (RecordReader.ReadMember(change.Value) is { } record)
            {
                var entry = new PeerEntry(record, change.Lease, UnsignedReason(peer, record, ""));
                var before = _peers.GetValueOrDefault(peer);
                _peers[peer] = entry;
                if (entry.Signed)
                {
                    if (!loading && before?.Signed != true)
                    {
                        AddEvent(now, MeshEventKinds.PeerOnline, $"{Display(record.Name)} ({Short(peer)}) came online at {Display(record.Endpoint)}");
                    }

                    _gone.Remove(peer);
                }
                else if (!loading && before?.Signed != false)
                {
                    AddEvent(now, MeshEventKinds.PeerUnsigned,
                        $"a peer record for {Display(record.Name)} ({Short(peer)}) is not validly signed: {entry.Unsigned}; not counted online");
                }
            }
            else if (_peers.Remove(peer, out var replaced) && replaced.Signed)
            {
                // What etcd holds for it now is no record: it is not listed as online on the strength of an old one.
                AddEvent(now, MeshEventKinds.PeerUnsigned, $"the record of {Display(replaced.Record.Name)} ({Short(peer)}) was replaced by one that cannot be read; not listed");
            }

            return;
        }

        if (_peers.TryGetValue(peer, out var gone) && !gone.Signed)
        {
            // A record the peer never signed going away says nothing of the peer.
            _peers.Remove(peer);
            _leaving.Remove(peer);
            return;
        }

        if (_peers.GetValueOrDefault(peer) is not { } known)
        {
            // Not listed (never seen, or its record was unreadable): nothing to tell of it.
            _leaving.Remove(peer);
            return;
        }

        var name = Display(known.Record.Name);
        var groups = _members.Where(m => m.Value.Contains(peer)).Select(m => Display(m.Key)).Order(StringComparer.Ordinal).ToList();
        _peers.Remove(peer);
        _links.Remove(peer);
        _suspectSince.Remove(peer);
        _linksToldDown.RemoveWhere(l => l.From == peer || l.To == peer);
        if (_leaving.Remove(peer))
        {
            _gone.Remove(peer);
            AddEvent(now, MeshEventKinds.PeerLeft, $"{name} ({Short(peer)}) left");
        }
        else if (known.Lease == 0)
        {
            // A real peer's record always lives under its lease: this one was put without, by hand.
            _gone[peer] = new GonePeer(known.Record, groups, PeerVerdict.Deleted, "its presence record was deleted; it had no lease to expire (an etcd writer?)", now);
            AddEvent(now, MeshEventKinds.PeerDeleted, $"{name} ({Short(peer)}): presence record deleted; it had no lease (etcd writer?)");
        }
        else
        {
            // No leaving mark: the lease ran out (the peer died, froze, or lost etcd for a whole TTL), or someone deleted
            // the record. Only etcd can tell which: the lease is asked about, and the answer told (LeaseChecked).
            var check = new LeaseCheck(peer, known.Lease);
            if (_leaseChecks.Writer.TryWrite(check))
            {
                _gone[peer] = new GonePeer(known.Record, groups, PeerVerdict.Deleted, "its presence record went: checking whether its lease expired", now, known.Lease);
            }
            else
            {
                _gone[peer] = new GonePeer(known.Record, groups, PeerVerdict.Deleted, "its presence record went; its lease was not checked (too many checks at once)", now);
                AddEvent(now, MeshEventKinds.PeerDeleted, $"{name} ({Short(peer)}) gone: presence record deleted, lease not checked (too many at once)");
            }
        }
    }

    /// <summary>etcd's answer to a <see cref="LeaseCheck"/>: a peer whose lease is gone failed; one whose lease lives was
    /// deleted from etcd by someone, and is not called failed. An answer for a peer back online since is ignored.</summary>
    /// <param name="why">When etcd did not answer: why, in plain words.</param>
    public void LeaseChecked(LeaseCheck check, LeaseAnswer answer, string? why = null)
    {
        lock (_lock)
        {
            if (_gone.GetValueOrDefault(check.Peer) is not { } gone || gone.Checking != check.Lease)
            {
                return;
            }

            var now = NowMs;
            var name = $"{Display(gone.Record.Name)} ({Short(check.Peer)})";
            switch (answer)
            {
                case LeaseAnswer.Gone:
                    _leaseExpiries++;
                    _gone[check.Peer] = gone with { State = PeerVerdict.Failed, Cause = "its lease expired: the peer died, froze, or lost etcd for a whole lease", Checking = null };
                    AddEvent(now, MeshEventKinds.LeaseExpired, $"{name} failed: its lease expired");
                    break;
                case LeaseAnswer.Alive:
                    _gone[check.Peer] = gone with { Cause = "its presence record was deleted while its lease lives (etcd writer?): the peer may well be running", Checking = null };
                    AddEvent(now, MeshEventKinds.PeerDeleted, $"{name}: presence record deleted while its lease lives (etcd writer?)");
                    break;
                default:
                    var reason = Display(why ?? "no answer", 200);
                    _gone[check.Peer] = gone with { Cause = $"its presence record went; whether its lease expired is unknown (etcd: {reason})", Checking = null };
                    AddEvent(now, MeshEventKinds.PeerDeleted, $"{name} gone: presence record deleted, lease not checked ({reason})");
                    break;
            }
        }
    }

    private Dictionary<string, PeerFigures> _figures = new(StringComparer.Ordinal);

    /// <summary>Each peer's own figures, as last read from InfluxDB (replaces the last read).</summary>
    public void SetPeerFigures(Dictionary<string, PeerFigures> figures)
    {
        lock (_lock)
        {
            _figures = figures;
        }
    }

    /// <summary>What each group's history holds in etcd, by group, as counted at load (<see cref="SetHistoryCounts"/>).</summary>
    private readonly Dictionary<string, long> _inHistory = new(StringComparer.Ordinal);

    /// <summary>The messages each group's history holds now (counted in etcd when the monitor loads, by its keys' names):
    /// followed from then on by the creations and deletions the watch sees.</summary>
    public void SetHistoryCounts(IReadOnlyDictionary<string, long> counts)
    {
        lock (_lock)
        {
            foreach (var (group, count) in counts)
            {
                _inHistory[group] = count;
            }
        }
    }

    private void FollowHistoryCount(string name, KeyChange change)
    {
        var slash = name.LastIndexOf('/');
        if (slash <= 0 || !_inHistory.TryGetValue(name[..slash], out var count))
        {
            return;
        }

        // A key of a sender's burst holds several messages.
        if (change.IsDelete)
        {
            _inHistory[name[..slash]] = Math.Max(0, count - MessagesIn(name));
        }
        else if (change.Version == 1)
        {
            _inHistory[name[..slash]] = count + MessagesIn(name);
        }
    }

    /// <summary>Groups whose messages are counted by name; those of any further group are counted as <see cref="OtherGroups"/>.</summary>
    public const int MaxGroupsCounted = 1_000;

    public const string OtherGroups = "(other groups)";

    /// <summary>How many messages a history key's name says it holds: a sender's burst ends in <c>~</c> and its count
    /// (2 to 256), any other key is one.</summary>
    public static int MessagesIn(string name)
    {
        var mark = name.Length - 4;
        return mark > 0 && name[mark] == '~' && int.TryParse(name.AsSpan(mark + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            && count is >= 2 and <= 256 ? count : 1;
    }

    private (string, double)? CountMessage(string name, long now)
    {
        // {group}/{order:D13}-{peer}-{epoch}-{seq}, and ~{count} for a sender's burst
        var slash = name.LastIndexOf('/');
        if (slash <= 0 || name.Length < slash + 14
            || !long.TryParse(name.AsSpan(slash + 1, 13), NumberStyles.None, CultureInfo.InvariantCulture, out var sentAt))
        {
            return null;
        }

        var group = name[..slash];
        if (!RecordReader.IsGroupName(group) || (_messagesByGroup.Count >= MaxGroupsCounted && !_messagesByGroup.ContainsKey(group)))
        {
            // History keys under any number of names cost one count, not one series each (here and in InfluxDB).
            group = OtherGroups;
        }

        var messages = MessagesIn(name);
        var second = Bucket(now);
        second.Messages[group] = second.Messages.GetValueOrDefault(group) + messages;
        var latency = Math.Max(0, now - sentAt);
        if (second.Latencies.Count < MaxLatencySamplesPerSecond)
        {
            second.Latencies.Add(latency);
        }

        _messagesByGroup[group] = _messagesByGroup.GetValueOrDefault(group) + messages;
        return (group, latency);
    }

    private Second Bucket(long nowMs)
    {
        var at = nowMs / 1000;
        if (!_seconds.TryGetValue(at, out var second))
        {
            _seconds[at] = second = new Second();
            while (_seconds.Count > 0 && _seconds.Keys.First() <= at - WindowSeconds)
            {
                _seconds.Remove(_seconds.Keys.First());
            }
        }

        return second;
    }

    private string? _leader;

    /// <summary>What the last health check of one etcd endpoint found.</summary>
    public void SetEndpoint(EndpointHealth health)
    {
        health = health with { CheckedAt = health.CheckedAt ?? NowMs };
        lock (_lock)
        {
            var before = _endpoints.GetValueOrDefault(health.Endpoint);
            if (before is not null && before.Healthy != health.Healthy)
            {
                AddEvent(NowMs, MeshEventKinds.EtcdHealth, health.Healthy ? $"etcd {health.Endpoint} healthy again" : $"etcd {health.Endpoint} unhealthy: {health.Error}");
            }
            _endpoints[health.Endpoint] = health;

            // The leader as first seen and at every change (an annotation in Grafana); none while no member leads.
            if (health.Healthy && health.Leader && _leader != health.Endpoint)
            {
                _leader = health.Endpoint;
                AddEvent(NowMs, MeshEventKinds.EtcdLeader, $"etcd {health.Endpoint} is the leader now");
            }
            else if (_leader == health.Endpoint && !(health.Healthy && health.Leader))
            {
                _leader = null;
            }
        }
    }

    public void AddEvent(string text, string kind = MeshEventKinds.Monitor)
    {
        lock (_lock)
        {
            AddEvent(NowMs, kind, text);
        }
    }

    /// <summary>Raised, under the view's lock, with each new event (so that it is kept across restarts): the handler
    /// must not call back into the view.</summary>
    public event Action<MeshEventView>? EventAdded;

    private long _lastEventMs;

    private void AddEvent(long now, string kind, string text)
    {
        // Each event at its own millisecond: InfluxDB keeps one point per series and time.
        var at = Math.Max(now, _lastEventMs + 1);
        _lastEventMs = at;
        var added = new MeshEventView(at, Bounded(text), kind);
        _events.AddFirst(added);
        while (_events.Count > MaxEvents)
        {
            _events.RemoveLast();
        }

        EventAdded?.Invoke(added);
    }

    /// <summary>An event's text, one line and at most <see cref="MaxEventText"/> characters.</summary>
    private static string Bounded(string text)
    {
        var line = TerminalText.OneLine(text);
        return line.Length > MaxEventText ? line[..MaxEventText] + "…" : line;
    }

    public const int MaxEventText = 400;

    /// <summary>Events kept from before the monitor started (read back from InfluxDB): merged in time order with those
    /// since, without doubles, bounded like the rest.</summary>
    public void Restore(IEnumerable<MeshEventView> earlier)
    {
        lock (_lock)
        {
            var seen = _events.Select(e => (e.Time, e.Text)).ToHashSet();
            var merged = _events.Concat(earlier.Take(MaxEvents)
                    .Where(e => MeshEventKinds.All.Contains(e.Kind))
                    .Select(e => e with { Text = Bounded(e.Text) })
                    .Where(e => seen.Add((e.Time, e.Text))))
                .OrderByDescending(e => e.Time).Take(MaxEvents).ToList();
            _events.Clear();
            foreach (var e in merged)
            {
                _events.AddLast(e);
            }
        }
    }

    public long LeaseExpiries
    {
        get
        {
            lock (_lock)
            {
                return _leaseExpiries;
            }
        }
    }

    /// <summary>Messages seen stored in history since the monitor started, by group.</summary>
    public IReadOnlyDictionary<string, long> MessagesByGroup()
    {
        lock (_lock)
        {
            return new Dictionary<string, long>(_messagesByGroup);
        }
    }

    public IReadOnlyList<EndpointHealth> Endpoints()
    {
        lock (_lock)
        {
            return [.. _endpoints.Values];
        }
    }

    /// <summary>What the monitor reports as gauges, without building a whole snapshot.</summary>
    /// <remarks>Peers, links and suspects count signed peers only; <c>Unsigned</c> counts the peer records that are not.</remarks>
    public (int Peers, int Groups, int Members, int LinksDown, int Suspect, int Unsigned) Counts()
    {
        lock (_lock)
        {
            var groups = GroupNamesLocked();
            var reports = OnlineReportsLocked();
            var online = SignedIdsLocked().ToList();
            return (online.Count, groups.Count, groups.Sum(g => _members.GetValueOrDefault(g)?.Count ?? 0),
                online.Sum(id => _links.GetValueOrDefault(id)?.Down.Count ?? 0),
                online.Count(id => PeerVerdict.Judge(id, reports, x => x).State == PeerVerdict.Suspect),
                _peers.Count - online.Count);
        }
    }

    /// <summary>The peers online: those whose presence record is signed by them.</summary>
    private IEnumerable<string> SignedIdsLocked() => _peers.Where(p => p.Value.Signed).Select(p => p.Key);

    /// <summary>Why a record found at a peer's key is not to be trusted, in plain words, or null when it is signed by
    /// the peer whose key it is under, for <paramref name="group"/> ("" for a presence record).</summary>
    private string? UnsignedReason(string keyPeer, MemberRecord record, string group) =>
        record.PeerId != keyPeer ? $"it names another peer ({Short(record.PeerId)}), not the one whose key it is under"
        : record.Group != group ? (record.Group.Length == 0 ? "it is a presence record, not one for this group" : $"it is a record for group '{Display(record.Group, 64)}'")
        : _isValidlySigned(record, group) ? null
        : record.Signature is null ? "it carries no signature"
        : "its signature does not check out against the key it names";

    /// <summary>Groups in the directory, and groups with members online whose entry is missing.</summary>
    private List<string> GroupNamesLocked() =>
        _groups.Keys.Union(_members.Where(m => m.Value.Count > 0).Select(m => m.Key)).Order(StringComparer.Ordinal).ToList();

    /// <summary>Everything the status page shows, at this moment.</summary>
    public MeshSnapshot Snapshot()
    {
        lock (_lock)
        {
            // First: reading a source may note its loss as an event, which this snapshot then shows.
            SourceView[] sources = [Etcd.View(), Influx.View()];
            var now = NowMs;
            // A name is shown for a peer only as it signed it; any other id by its first digits.
            string NameOf(string id) => _peers.GetValueOrDefault(id) is { Signed: true } e ? Display(e.Record.Name) : Short(id);
            var reports = OnlineReportsLocked();
            var online = new List<PeerView>(_peers.Count);
            // Online first (by name), then the records that are not signed.
            foreach (var (id, entry) in _peers.OrderBy(p => !p.Value.Signed).ThenBy(p => p.Value.Record.Name, StringComparer.Ordinal).ThenBy(p => p.Key, StringComparer.Ordinal))
            {
                // A row that cannot be built costs that row, never the page (every value was checked as it came in:
                // this is the last line).
                try
                {
                    online.Add(PeerRowLocked(id, entry, reports, NameOf, now));
                }
                catch (Exception)
                {
                    _rowsSkipped++;
                }
            }

            PruneFailedLocked(now);
            var failed = _gone.Values.OrderByDescending(f => f.AtMs).Select(f => new PeerView(f.Record.PeerId, Display(f.Record.Name),
                Display(f.Record.Endpoint), f.Record.SinceUnixMs, f.Groups, [], f.State, f.Cause, f.AtMs, []));
            var peers = online.Concat(failed).ToList();
            var groups = GroupNamesLocked()
                .Select(g => new GroupView(Display(g), _groups.GetValueOrDefault(g)?.Policy ?? "?",
                    (_members.GetValueOrDefault(g) ?? []).Select(NameOf).Order(StringComparer.Ordinal).ToList(),
                    _messagesByGroup.GetValueOrDefault(g), _inHistory.TryGetValue(g, out var held) ? held : null))
                .ToList();

            var from = now / 1000 - WindowSeconds + 1;
            var times = new List<long>(WindowSeconds);
            var rate = new List<double>(WindowSeconds);
            var p50 = new List<double?>(WindowSeconds);
            var p99 = new List<double?>(WindowSeconds);
            for (var s = from; s <= now / 1000; s++)
            {
                times.Add(s);
                if (_seconds.TryGetValue(s, out var second))
                {
                    rate.Add(second.Messages.Values.Sum());
                    var sorted = second.Latencies.Order().ToList();
                    p50.Add(sorted.Count == 0 ? null : Percentile(sorted, 0.50));
                    p99.Add(sorted.Count == 0 ? null : Percentile(sorted, 0.99));
                }
                else
                {
                    rate.Add(0);
                    p50.Add(null);
                    p99.Add(null);
                }
            }

            return new MeshSnapshot(now, peers, groups, [.. _endpoints.Values.OrderBy(e => e.Endpoint, StringComparer.Ordinal)],
                _leaseExpiries, [.. _events], new SeriesView(times, rate, p50, p99),
                peers.Where(p => p.State is PeerVerdict.Healthy or PeerVerdict.Suspect).Sum(p => p.Links.Count(l => l.State == "down")), sources);
        }
    }

    /// <summary>Peer rows left out of snapshots because building them failed (none should be).</summary>
    private long _rowsSkipped;

    /// <summary>Changes that could not be applied and peer rows that could not be built, since the start: every value
    /// is checked as it comes in, so both stay 0 unless a check is missing.</summary>
    public (long Changes, long Rows) Skipped
    {
        get
        {
            lock (_lock)
            {
                return (_changesSkipped, _rowsSkipped);
            }
        }
    }

    /// <summary>One online peer's row: its groups, its links by name, and the verdict on it.</summary>
    private PeerView PeerRowLocked(string id, PeerEntry entry, Dictionary<string, LinkStates> reports, Func<string, string> nameOf, long now)
    {
        var record = entry.Record;
        var links = _links.GetValueOrDefault(id);
        var groups = _members.Where(m => m.Value.Contains(id)).Select(m => Display(m.Key)).Order(StringComparer.Ordinal).ToList();
        var linkViews = links is null
            ? []
            : links.Up.Select(to => new LinkView(to, nameOf(to), "up", links.RttOf(to))).Concat(links.Down.Select(to => new LinkView(to, nameOf(to), "down"))).ToList();
        if (!entry.Signed)
        {
            // Shown as what it is: a record anyone could have written, judged by no one and counted nowhere.
            return new PeerView(id, Display(record.Name), Display(record.Endpoint), record.SinceUnixMs, groups, linkViews,
                PeerVerdict.Unsigned, entry.Unsigned);
        }

        var verdict = PeerVerdict.Judge(id, reports, nameOf);
        long? since = null;
        if (verdict.State == PeerVerdict.Suspect)
        {
            since = _suspectSince.TryGetValue(id, out var at) ? at : _suspectSince[id] = now;
        }
        else
        {
            _suspectSince.Remove(id);
        }

        var row = new PeerView(id, Display(record.Name), Display(record.Endpoint), record.SinceUnixMs, groups, linkViews,
            verdict.State, verdict.Cause, since, verdict.SeenDownBy);
        return row with { Figures = _figures.GetValueOrDefault(id) };
    }

    /// <summary>The link reports of the peers online now (a report outlives its peer only until its key goes).</summary>
    private Dictionary<string, LinkStates> OnlineReportsLocked() =>
        _links.Where(l => _peers.GetValueOrDefault(l.Key) is { Signed: true }).ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);

    private void PruneFailedLocked(long now)
    {
        foreach (var gone in _gone.Where(f => now - f.Value.AtMs > _keepFailed.TotalMilliseconds).Select(f => f.Key).ToList())
        {
            _gone.Remove(gone);
        }
    }

    private static double Percentile(List<long> sorted, double q) =>
        sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static string Short(string peerId) => TerminalText.OneLine(peerId.Length > 8 ? peerId[..8] : peerId);

    /// <summary>The most of a name, endpoint or group name from etcd the page shows.</summary>
    public const int MaxShownText = 256;

    /// <summary>Text from etcd as shown: one line, at most <paramref name="max"/> characters.</summary>
    private static string Display(string text, int max = MaxShownText)
    {
        var line = TerminalText.OneLine(text);
        return line.Length > max ? line[..max] + "…" : line;
    }

    private sealed class Second
    {
        public Dictionary<string, long> Messages { get; } = new(StringComparer.Ordinal);

        public List<long> Latencies { get; } = [];
    }
}
