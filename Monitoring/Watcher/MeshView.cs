using System.Globalization;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.Membership;

namespace Mesh.Monitoring.Watcher;

/// <summary>What mesh monitor knows of the mesh, built from etcd changes: peers, groups, link states, lease
/// expiries, etcd's members, and per-second message rate and send-to-history latency over the last minutes.</summary>
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
    private readonly Dictionary<string, MemberRecord> _peers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LinkStates> _links = new(StringComparer.Ordinal);
    private readonly HashSet<string> _leaving = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GroupRecord?> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EndpointHealth> _endpoints = new(StringComparer.Ordinal);
    private readonly LinkedList<MeshEventView> _events = new();
    private readonly SortedDictionary<long, Second> _seconds = new();
    private readonly Dictionary<string, long> _messagesByGroup = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FailedPeer> _failed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _suspectSince = new(StringComparer.Ordinal);
    private long _leaseExpiries;

    /// <summary>How long a failed peer stays listed when the monitor is not told otherwise.</summary>
    public static readonly TimeSpan DefaultKeepFailed = TimeSpan.FromMinutes(10);

    private readonly TimeSpan _keepFailed;

    /// <summary>How long etcd may fail to answer before the page says that what it shows from etcd is stale.</summary>
    public static readonly TimeSpan EtcdStaleAfter = TimeSpan.FromSeconds(5);

    /// <summary>How long InfluxDB may fail before the page says so.</summary>
    public static readonly TimeSpan InfluxStaleAfter = TimeSpan.FromSeconds(5);

    public MeshView(TimeProvider? time = null, TimeSpan? keepFailed = null, bool influxConfigured = false)
    {
        _time = time ?? TimeProvider.System;
        _keepFailed = keepFailed ?? DefaultKeepFailed;
        Etcd = new SourceFreshness("etcd", EtcdStaleAfter, _time);
        Influx = new SourceFreshness("InfluxDB", InfluxStaleAfter, _time, influxConfigured);
        Etcd.Changed += AddEvent;
        Influx.Changed += AddEvent;
    }

    /// <summary>How current what came from etcd is (peers, groups, links, members' health).</summary>
    public SourceFreshness Etcd { get; }

    /// <summary>How current what came from InfluxDB is (peers' own figures), and whether the monitor's reports reach it.</summary>
    public SourceFreshness Influx { get; }

    /// <summary>A peer whose lease expired, as it was last seen, with when and why it failed.</summary>
    private sealed record FailedPeer(MemberRecord Record, IReadOnlyList<string> Groups, string Cause, long AtMs);

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
                ApplyLocked(change, NowMs, loading: true);
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
                if (ApplyLocked(change, now, loading: false) is { } message)
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

    private (string, double)? ApplyLocked(KeyChange change, long now, bool loading)
    {
        var key = change.Key;
        if (key.StartsWith(MeshKeys.HistoryRoot, StringComparison.Ordinal))
        {
            return change.IsDelete ? null : CountMessage(key[MeshKeys.HistoryRoot.Length..], now);
        }

        if (key.StartsWith(MeshKeys.PeersPrefix, StringComparison.Ordinal))
        {
            ApplyPeer(key[MeshKeys.PeersPrefix.Length..], change, now, loading);
        }
        else if (key.StartsWith(MeshKeys.LeavingPrefix, StringComparison.Ordinal))
        {
            if (!change.IsDelete)
            {
                _leaving.Add(key[MeshKeys.LeavingPrefix.Length..]);
            }
        }
        else if (key.StartsWith(MeshKeys.LinksPrefix, StringComparison.Ordinal))
        {
            var peer = key[MeshKeys.LinksPrefix.Length..];
            if (!change.IsDelete && LinkStates.TryParse(change.Value) is { } states)
            {
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
            if (change.IsDelete)
            {
                _groups.Remove(group);
            }
            else
            {
                if (!loading && !_groups.ContainsKey(group))
                {
                    AddEvent(now, $"group '{group}' created");
                }

                _groups[group] = GroupRecord.TryParse(change.Value);
            }
        }
        else if (key.StartsWith(MeshKeys.MembersRoot, StringComparison.Ordinal))
        {
            var rest = key[MeshKeys.MembersRoot.Length..];
            var slash = rest.LastIndexOf('/');
            if (slash > 0)
            {
                var (group, peer) = (rest[..slash], rest[(slash + 1)..]);
                if (!_members.TryGetValue(group, out var members))
                {
                    _members[group] = members = new HashSet<string>(StringComparer.Ordinal);
                }

                if (change.IsDelete)
                {
                    members.Remove(peer);
                }
                else
                {
                    members.Add(peer);
                }
            }
        }

        return null;
    }

    private void ApplyPeer(string peer, KeyChange change, long now, bool loading)
    {
        if (!change.IsDelete)
        {
            if (MemberRecord.TryParse(change.Value) is { } record)
            {
                if (!loading && !_peers.ContainsKey(peer))
                {
                    AddEvent(now, TerminalText.OneLine($"{record.Name} ({Short(peer)}) came online at {record.Endpoint}"));
                }

                _peers[peer] = record;
                _failed.Remove(peer);
            }

            return;
        }

        var name = _peers.TryGetValue(peer, out var known) ? TerminalText.OneLine(known.Name) : Short(peer);
        var groups = _members.Where(m => m.Value.Contains(peer)).Select(m => TerminalText.OneLine(m.Key)).Order(StringComparer.Ordinal).ToList();
        _peers.Remove(peer);
        _links.Remove(peer);
        _suspectSince.Remove(peer);
        if (_leaving.Remove(peer))
        {
            _failed.Remove(peer);
            AddEvent(now, $"{name} ({Short(peer)}) left");
        }
        else
        {
            // No leaving mark before the delete: the lease ran out, so the peer died or lost etcd for a whole TTL.
            _leaseExpiries++;
            AddEvent(now, $"{name} ({Short(peer)}) failed: its lease expired");
            if (known is not null)
            {
                _failed[peer] = new FailedPeer(known, groups, "its lease expired: the peer died, froze, or lost etcd for a whole lease", now);
            }
        }
    }

    private (string, double)? CountMessage(string name, long now)
    {
        // {group}/{sentAt:D13}-{peer}-{epoch}-{seq}
        var slash = name.LastIndexOf('/');
        if (slash <= 0 || name.Length < slash + 14
            || !long.TryParse(name.AsSpan(slash + 1, 13), NumberStyles.None, CultureInfo.InvariantCulture, out var sentAt))
        {
            return null;
        }

        var group = name[..slash];
        var second = Bucket(now);
        second.Messages[group] = second.Messages.GetValueOrDefault(group) + 1;
        var latency = Math.Max(0, now - sentAt);
        if (second.Latencies.Count < MaxLatencySamplesPerSecond)
        {
            second.Latencies.Add(latency);
        }

        _messagesByGroup[group] = _messagesByGroup.GetValueOrDefault(group) + 1;
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

    /// <summary>What the last health check of one etcd endpoint found.</summary>
    public void SetEndpoint(EndpointHealth health)
    {
        health = health with { CheckedAt = health.CheckedAt ?? NowMs };
        lock (_lock)
        {
            var before = _endpoints.GetValueOrDefault(health.Endpoint);
            if (before is not null && before.Healthy != health.Healthy)
            {
                AddEvent(NowMs, health.Healthy ? $"etcd {health.Endpoint} healthy again" : $"etcd {health.Endpoint} unhealthy: {health.Error}");
            }
            else if (before is not null && health.Healthy && before.Leader != health.Leader && health.Leader)
            {
                AddEvent(NowMs, $"etcd {health.Endpoint} is the leader now");
            }

            _endpoints[health.Endpoint] = health;
        }
    }

    public void AddEvent(string text)
    {
        lock (_lock)
        {
            AddEvent(NowMs, text);
        }
    }

    private void AddEvent(long now, string text)
    {
        _events.AddFirst(new MeshEventView(now, text));
        while (_events.Count > MaxEvents)
        {
            _events.RemoveLast();
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
    public (int Peers, int Groups, int Members, int LinksDown, int Suspect) Counts()
    {
        lock (_lock)
        {
            var groups = GroupNamesLocked();
            var reports = OnlineReportsLocked();
            return (_peers.Count, groups.Count, groups.Sum(g => _members.GetValueOrDefault(g)?.Count ?? 0),
                _peers.Keys.Sum(id => _links.GetValueOrDefault(id)?.Down.Count ?? 0),
                _peers.Keys.Count(id => PeerVerdict.Judge(id, reports, x => x).State == PeerVerdict.Suspect));
        }
    }

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
            string NameOf(string id) => _peers.TryGetValue(id, out var r) ? TerminalText.OneLine(r.Name) : Short(id);
            var reports = OnlineReportsLocked();
            var online = _peers.Values.OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.PeerId, StringComparer.Ordinal).Select(p =>
            {
                var links = _links.GetValueOrDefault(p.PeerId);
                var groups = _members.Where(m => m.Value.Contains(p.PeerId)).Select(m => TerminalText.OneLine(m.Key)).Order(StringComparer.Ordinal).ToList();
                var linkViews = links is null
                    ? []
                    : links.Up.Select(id => new LinkView(id, NameOf(id), "up")).Concat(links.Down.Select(id => new LinkView(id, NameOf(id), "down"))).ToList();
                var verdict = PeerVerdict.Judge(p.PeerId, reports, NameOf);
                long? since = null;
                if (verdict.State == PeerVerdict.Suspect)
                {
                    since = _suspectSince.TryGetValue(p.PeerId, out var at) ? at : _suspectSince[p.PeerId] = now;
                }
                else
                {
                    _suspectSince.Remove(p.PeerId);
                }

                return new PeerView(p.PeerId, TerminalText.OneLine(p.Name), TerminalText.OneLine(p.Endpoint), p.SinceUnixMs, groups, linkViews,
                    verdict.State, verdict.Cause, since, verdict.SeenDownBy);
            });
            PruneFailedLocked(now);
            var failed = _failed.Values.OrderByDescending(f => f.AtMs).Select(f => new PeerView(f.Record.PeerId, TerminalText.OneLine(f.Record.Name),
                TerminalText.OneLine(f.Record.Endpoint), f.Record.SinceUnixMs, f.Groups, [], PeerVerdict.Failed, f.Cause, f.AtMs, []));
            var peers = online.Concat(failed).ToList();
            var groups = GroupNamesLocked()
                .Select(g => new GroupView(TerminalText.OneLine(g), _groups.GetValueOrDefault(g)?.Policy ?? "?",
                    (_members.GetValueOrDefault(g) ?? []).Select(NameOf).Order(StringComparer.Ordinal).ToList(),
                    _messagesByGroup.GetValueOrDefault(g)))
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
                peers.Sum(p => p.Links.Count(l => l.State == "down")), sources);
        }
    }

    /// <summary>The link reports of the peers online now (a report outlives its peer only until its key goes).</summary>
    private Dictionary<string, LinkStates> OnlineReportsLocked() =>
        _links.Where(l => _peers.ContainsKey(l.Key)).ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);

    private void PruneFailedLocked(long now)
    {
        foreach (var gone in _failed.Where(f => now - f.Value.AtMs > _keepFailed.TotalMilliseconds).Select(f => f.Key).ToList())
        {
            _failed.Remove(gone);
        }
    }

    private static double Percentile(List<long> sorted, double q) =>
        sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static string Short(string peerId) => peerId.Length > 8 ? peerId[..8] : peerId;

    private sealed class Second
    {
        public Dictionary<string, long> Messages { get; } = new(StringComparer.Ordinal);

        public List<long> Latencies { get; } = [];
    }
}
