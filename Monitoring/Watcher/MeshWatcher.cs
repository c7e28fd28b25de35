using System.Diagnostics;
using System.Diagnostics.Metrics;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Microsoft.Extensions.Logging;

namespace Mesh.Monitoring.Watcher;

/// <summary>Follows the mesh in etcd for mesh monitor: reads peers, groups, members and links, then watches
/// <c>/mesh/</c> for every change (history puts included, for the message rate); checks each etcd endpoint's
/// health, leader and database size every <see cref="HealthInterval"/>; asks etcd about the lease of each presence
/// record that went without a leaving mark, before the view calls its peer failed.</summary>
public sealed partial class MeshWatcher : IAsyncDisposable
{
    public static readonly TimeSpan HealthInterval = TimeSpan.FromSeconds(2);

    private static readonly string[] LoadedPrefixes =
        [MeshKeys.PeersPrefix, MeshKeys.LeavingPrefix, MeshKeys.LinksPrefix, MeshKeys.GroupsPrefix, MeshKeys.MembersRoot];

    private readonly EtcdConnection _etcd;
    private readonly IReadOnlyList<(string Endpoint, EtcdConnection Connection)> _endpoints;
    private readonly MeshView _view;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Histogram<double> _historyLatency;
    private readonly Histogram<double> _memberLatency;
    private PrefixWatcher? _watcher;
    private Task? _loop;
    private Task? _health;
    private Task? _leases;

    /// <summary>etcd's default backend quota (its <c>--quota-backend-bytes</c> when not given).</summary>
    public const long DefaultQuotaBytes = 2L * 1024 * 1024 * 1024;

    private readonly long _quotaBytes;
    private readonly Dictionary<string, string> _fill = new(StringComparer.Ordinal);

    public MeshWatcher(EtcdSettings settings, MeshView view, Meter meter, ILogger log, long quotaBytes = DefaultQuotaBytes)
    {
        _quotaBytes = quotaBytes;
        _etcd = new EtcdConnection(settings);
        _endpoints = settings.Endpoints.Select(e => (e, new EtcdConnection(settings with { Endpoints = [e] }))).ToList();
        _view = view;
        _log = log;
        Describe = settings.Describe;
        meter.CreateObservableGauge(MetricNames.MonitorPeers, () => _view.Counts().Peers, "{peer}", "peers online (on a record they signed)");
        meter.CreateObservableGauge(MetricNames.MonitorPeersUnsigned, () => _view.Counts().Unsigned, "{record}", "peer records not signed by the peer they name");
        meter.CreateObservableGauge(MetricNames.MonitorGroups, () => _view.Counts().Groups, "{group}", "groups in the directory");
        meter.CreateObservableGauge(MetricNames.MonitorMembers, () => _view.Counts().Members, "{member}", "memberships online");
        meter.CreateObservableGauge(MetricNames.MonitorLinksDown, () => _view.Counts().LinksDown, "{link}", "links peers report down");
        meter.CreateObservableGauge(MetricNames.MonitorPeersSuspect, () => _view.Counts().Suspect, "{peer}", "peers online that other peers see down");
        meter.CreateObservableCounter(MetricNames.MonitorLeaseExpiries, () => _view.LeaseExpiries, "{expiry}", "peers gone without leaving: their lease expired");
        meter.CreateObservableCounter(MetricNames.MonitorMessages,
            () => _view.MessagesByGroup().Select(g => new Measurement<long>(g.Value, new KeyValuePair<string, object?>("group", g.Key))),
            "{message}", "messages seen stored in history");
        _historyLatency = meter.CreateHistogram<double>(MetricNames.MonitorHistoryLatency, "ms", "from a message's send time to the monitor seeing it in history");
        meter.CreateObservableGauge(MetricNames.MonitorEtcdHealthy, () => _view.Endpoints().Count(e => e.Healthy), "{member}", "etcd members that answered their last status request");
        meter.CreateObservableGauge(MetricNames.MonitorEtcdUnhealthy, () => _view.Endpoints().Count(e => !e.Healthy), "{member}", "etcd members that did not");
        meter.CreateObservableGauge(MetricNames.MonitorEtcdLeaders, () => _view.Endpoints().Count(e => e.Healthy && e.Leader), "{member}",
            "healthy etcd members that lead (0: etcd has no leader, or none answers)");
        meter.CreateObservableGauge(MetricNames.EtcdMemberHealthy, () => _view.Endpoints().Select(e => new Measurement<int>(e.Healthy ? 1 : 0, Endpoint(e.Endpoint))), "1", "1 when the endpoint answered its last status request");
        meter.CreateObservableGauge(MetricNames.EtcdMemberLeader, () => _view.Endpoints().Where(e => e.Healthy).Select(e => new Measurement<int>(e.Leader ? 1 : 0, Endpoint(e.Endpoint))), "1", "1 for the member that leads");
        meter.CreateObservableGauge(MetricNames.EtcdMemberDbSize, () => _view.Endpoints().Where(e => e.Healthy).Select(e => new Measurement<long>(e.DbSizeBytes, Endpoint(e.Endpoint))), "By", "size of the member's database");
        meter.CreateObservableGauge(MetricNames.EtcdMemberDbQuota, () => _view.Endpoints().Where(e => e.QuotaBytes > 0).Select(e => new Measurement<long>(e.QuotaBytes, Endpoint(e.Endpoint))), "By", "the backend quota the member runs with (as configured for the monitor)");
        meter.CreateObservableGauge(MetricNames.EtcdMemberDbQuotaUsed, () => _view.Endpoints().Where(e => e.QuotaPercent is not null).Select(e => new Measurement<double>(e.QuotaPercent!.Value, Endpoint(e.Endpoint))), "%", "the member's database size as a percentage of its quota");
        meter.CreateObservableGauge(MetricNames.EtcdMemberAlarms, () => _view.Endpoints().Where(e => e.MemberId is not null).Select(e => new Measurement<int>(e.Alarms.Count, Endpoint(e.Endpoint))), "{alarm}", "alarms etcd raised on the member (NOSPACE: full)");
        _memberLatency = meter.CreateHistogram<double>(MetricNames.EtcdMemberLatency, "ms", "duration of status requests to each endpoint");
        _view.MessageStored += (group, latency) => _historyLatency.Record(latency, new KeyValuePair<string, object?>("group", group));
    }

    public string Describe { get; }

    private static KeyValuePair<string, object?> Endpoint(string endpoint) => new("endpoint", endpoint);

    /// <summary>Loads the current state (retrying until etcd answers), then follows it.</summary>
    public void Start()
    {
        _loop = Task.Run(() => FollowAsync(_stop.Token));
        _health = Task.Run(() => CheckHealthAsync(_stop.Token));
        _leases = Task.Run(() => AnswerLeaseChecksAsync(_stop.Token));
    }

    /// <summary>How long one lease check may take; past it, the view is told etcd did not answer.</summary>
    public static readonly TimeSpan LeaseCheckTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Lease checks asked at once (a mass failure deletes many records in one go).</summary>
    private const int LeaseChecksAtOnce = 16;

    /// <summary>Answers the view's lease checks, off the watch loop (which goes on meanwhile), each bounded in time; a
    /// check that fails is the view's <see cref="LeaseAnswer.Unknown"/>, never the end of this loop.</summary>
    private async Task AnswerLeaseChecksAsync(CancellationToken ct)
    {
        try
        {
            while (await _view.LeaseChecks.WaitToReadAsync(ct))
            {
                var batch = new List<LeaseCheck>(LeaseChecksAtOnce);
                while (batch.Count < LeaseChecksAtOnce && _view.LeaseChecks.TryRead(out var check))
                {
                    batch.Add(check);
                }

                await Task.WhenAll(batch.Select(check => AnswerLeaseCheckAsync(check, ct)));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task AnswerLeaseCheckAsync(LeaseCheck check, CancellationToken ct)
    {
        try
        {
            var (answer, why) = await AskLeaseAsync(check.Lease, ct);
            _view.LeaseChecked(check, answer, why);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Whatever the failure, the peer's row says the lease was not checked rather than "checking" for ever.
            var reason = $"{e.GetType().Name}: {Coordinator.NetworkWords.OneLine(e.Message)}";
            LogLeaseCheckFailed(check.Peer, reason);
            _view.LeaseChecked(check, LeaseAnswer.Unknown, reason);
        }
    }

    /// <summary>Whether etcd still knows <paramref name="lease"/>: it answers TTL -1 for one that expired or was revoked.</summary>
    private async Task<(LeaseAnswer Answer, string? Why)> AskLeaseAsync(long lease, CancellationToken ct)
    {
        try
        {
            // The deadline ends the call; the wait is bounded as well, should a stuck call outlive it.
            var answer = await _etcd.Lease.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = lease }, deadline: EtcdConnection.Deadline(LeaseCheckTimeout), cancellationToken: ct)
                .ResponseAsync.WaitAsync(LeaseCheckTimeout + TimeSpan.FromSeconds(1), ct);
            return (answer.TTL >= 0 ? LeaseAnswer.Alive : LeaseAnswer.Gone, null);
        }
        catch (RpcException e) when (e.Status.Detail.Contains("lease not found", StringComparison.OrdinalIgnoreCase))
        {
            return (LeaseAnswer.Gone, null);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.DeadlineExceeded)
        {
            return (LeaseAnswer.Unknown, $"no answer within {LeaseCheckTimeout.TotalSeconds:0} s");
        }
        catch (RpcException e)
        {
            return (LeaseAnswer.Unknown, EtcdFailure.Words(e));
        }
        catch (TimeoutException)
        {
            return (LeaseAnswer.Unknown, $"no answer within {LeaseCheckTimeout.TotalSeconds:0} s");
        }
    }

    private async Task FollowAsync(CancellationToken ct)
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5));
        var unreachable = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var revision = await LoadAsync(ct);

                _watcher = new PrefixWatcher(_etcd, MeshKeys.Root, revision + 1, changes =>
                {
                    _view.Apply(changes);
                    return ValueTask.CompletedTask;
                }, _log, async _ =>
                {
                    // Changes were compacted away before the watch saw them: read the state again.
                    await LoadAsync(ct);
                });
                _watcher.Start();
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (EtcdUnavailableException e)
            {
                // The page tells it (etcd's freshness, from the health checks); the log says it once.
                if (!unreachable)
                {
                    unreachable = true;
                    LogUnreachable(e.Message);
                }
            }

            try
            {
                await Task.Delay(backoff.Next(), ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<long> LoadAsync(CancellationToken ct)
    {
        try
        {
            long revision = 0;
            var all = new List<KeyChange>();
            foreach (var prefix in LoadedPrefixes)
            {
                var response = await _etcd.KV.RangeAsync(new RangeRequest
                {
                    Key = ByteString.CopyFromUtf8(prefix),
                    RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)),
                    Revision = revision,
                }, deadline: EtcdConnection.Deadline(), cancellationToken: ct);
                // The header names the store's current revision, not the one read: keep the first read's.
                revision = revision == 0 ? response.Header.Revision : revision;
                all.AddRange(response.Kvs.Select(kv => new KeyChange(kv.Key.ToStringUtf8(), false, kv.Value.ToByteArray(), kv.ModRevision, kv.Lease)));
            }

            _view.Load(all);
            _view.SetHistoryCounts(await CountHistoryAsync(all.Where(c => c.Key.StartsWith(MeshKeys.GroupsPrefix, StringComparison.Ordinal))
                .Select(c => c.Key[MeshKeys.GroupsPrefix.Length..]).Take(MaxGroupsCounted).ToList(), revision, ct));
            return revision;
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }

    /// <summary>Groups whose history is counted at load: a directory with more (an etcd writer's doing, say) costs
    /// no more than this many count requests.</summary>
    private const int MaxGroupsCounted = 1_000;

    /// <summary>Keys listed per group when its history is counted: beyond them, a key counts as one message.</summary>
    private const int MaxKeysListed = 1_000_000;

    /// <summary>How many messages each group's history holds at <paramref name="revision"/>: its keys' names say (a key
    /// of a sender's burst holds several), read without their values in pages bounded by bytes, sixteen groups at a
    /// time; past <see cref="MaxKeysListed"/> keys a group's further keys count one each (etcd counts them).</summary>
    private async Task<Dictionary<string, long>> CountHistoryAsync(IReadOnlyList<string> groups, long revision, CancellationToken ct)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var range = new BoundedRange(_etcd);
        foreach (var batch in groups.Chunk(16))
        {
            var answers = await Task.WhenAll(batch.Select(async group =>
            {
                var prefix = MeshKeys.HistoryPrefix(group);
                var request = new RangeRequest
                {
                    Key = ByteString.CopyFromUtf8(prefix),
                    RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)),
                    Revision = revision,
                    KeysOnly = true,
                };
                long messages = 0;
                long listed = 0;
                ByteString? last = null;
                await range.ReadOnwardAsync(request, new PageLimit(10_000), (kvs, _) =>
                {
                    foreach (var kv in kvs)
                    {
                        messages += MeshView.MessagesIn(kv.Key.ToStringUtf8());
                    }

                    listed += kvs.Count;
                    last = kvs[^1].Key;
                    return ValueTask.CompletedTask;
                }, ct, MaxKeysListed);
                if (listed == MaxKeysListed && last is not null)
                {
                    var rest = await _etcd.KV.RangeAsync(new RangeRequest
                    {
                        Key = BoundedRange.After(last),
                        RangeEnd = request.RangeEnd,
                        CountOnly = true,
                    }, deadline: EtcdConnection.Deadline(), cancellationToken: ct);
                    messages += rest.Count;
                }

                return (group, messages);
            }));
            foreach (var (group, count) in answers)
            {
                counts[group] = count;
            }
        }

        return counts;
    }

    private async Task CheckHealthAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(HealthInterval);
        do
        {
            var causes = await Task.WhenAll(_endpoints.Select(e => CheckAsync(e.Endpoint, e.Connection, ct)));
            if (ct.IsCancellationRequested)
            {
                break;
            }

            // etcd is there when any member answers; when none does, the cause is the first member's, in plain words.
            if (causes.Any(c => c is null))
            {
                _view.Etcd.Answered();
            }
            else
            {
                _view.Etcd.Failed(_endpoints.Count == 1 ? causes[0]! : $"no member answers ({_endpoints[0].Endpoint}: {causes[0]})");
            }
        }
        while (await Ticks.NextAsync(timer, ct));
    }

    /// <summary>Checks one member; returns null when it answered, or why it did not.</summary>
    private async Task<string?> CheckAsync(string endpoint, EtcdConnection connection, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            // The deadline ends the call; the wait is bounded as well, so that a call that outlives its deadline (a
            // stuck connection) cannot stop the checks, and etcd's freshness with them.
            var status = await connection.Maintenance.StatusAsync(new StatusRequest(), deadline: EtcdConnection.Deadline(HealthInterval), cancellationToken: ct)
                .ResponseAsync.WaitAsync(HealthInterval + TimeSpan.FromSeconds(1), ct);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            _memberLatency.Record(elapsed, Endpoint(endpoint));
            var error = DescribeErrors(status.Errors, status.DbSize);
            var health = new EndpointHealth(endpoint, error is null, status.Leader == status.Header.MemberId, status.DbSize, elapsed,
                status.Version, error, status.Header.MemberId.ToString("x16", System.Globalization.CultureInfo.InvariantCulture))
            {
                QuotaBytes = _quotaBytes,
                Alarms = Alarms(status.Errors),
            };
            NoteFill(health);
            _view.SetEndpoint(health);
            return null;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception e)
        {
            // Whatever the failure, it is this member's answer for this round: the checks go on.
            var reason = e switch
            {
                RpcException { StatusCode: StatusCode.DeadlineExceeded } or TimeoutException => $"no answer within {HealthInterval.TotalSeconds:0} s",
                RpcException rpc => EtcdFailure.Words(rpc),
                _ => $"{e.GetType().Name}: {Coordinator.NetworkWords.OneLine(e.Message)}",
            };
            if (e is not RpcException and not TimeoutException)
            {
                LogCheckFailed(endpoint, reason);
            }

            _view.SetEndpoint(new EndpointHealth(endpoint, false, false, 0, Stopwatch.GetElapsedTime(started).TotalMilliseconds, null, reason, null));
            return reason;
        }
    }

    /// <summary>The alarm names in a member's status errors ("memberID:ID alarm:NOSPACE" gives NOSPACE).</summary>
    public static IReadOnlyList<string> Alarms(IEnumerable<string> errors) =>
        errors.SelectMany(e => e.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(part => part.StartsWith("alarm:", StringComparison.Ordinal) && part.Length > "alarm:".Length)
            .Select(part => part["alarm:".Length..]).Distinct().ToList();

    /// <summary>An event when a member's database passes 80 % of its quota, when it is full, and when it is back under.</summary>
    private void NoteFill(EndpointHealth health)
    {
        var level = health.Alarms.Contains("NOSPACE") ? "full" : health.Warning is not null ? "filling" : "fine";
        string? before;
        lock (_fill)
        {
            before = _fill.GetValueOrDefault(health.Endpoint, "fine");
            _fill[health.Endpoint] = level;
        }

        if (before == level)
        {
            return;
        }

        _view.AddEvent(kind: MeshEventKinds.EtcdSpace, text: level switch
        {
            "filling" => $"etcd {health.Endpoint}: {health.Warning}",
            "full" => $"etcd {health.Endpoint}: {health.Error}",
            _ => string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"etcd {health.Endpoint}: database back under 80 % of its quota ({health.QuotaPercent ?? 0:F0} %)"),
        });
    }

    /// <summary>A member's status errors in plain words (null when it has none): etcd names its alarms as
    /// "memberID:ID alarm:NOSPACE"; a full database is said as such, with its size.</summary>
    public static string? DescribeErrors(IEnumerable<string> errors, long dbSizeBytes)
    {
        var said = errors.Select(e => e.Trim()).Where(e => e.Length > 0).Select(e => e.Contains("alarm:NOSPACE", StringComparison.Ordinal)
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"NOSPACE alarm: its database is full ({dbSizeBytes / (1024.0 * 1024.0):F1} MiB); it refuses writes until it is compacted, defragmented and disarmed")
            : e.Contains("alarm:CORRUPT", StringComparison.Ordinal) ? "CORRUPT alarm: its data failed a consistency check" : e).Distinct().ToList();
        return said.Count > 0 ? string.Join("; ", said) : null;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var task in new[] { _loop, _health, _leases })
        {
            if (task is not null)
            {
                await task;
            }
        }

        if (_watcher is not null)
        {
            await _watcher.DisposeAsync();
        }

        _etcd.Dispose();
        foreach (var (_, connection) in _endpoints)
        {
            connection.Dispose();
        }

        _stop.Dispose();
    }

    [LoggerMessage(EventId = 802, Level = LogLevel.Warning, Message = "status check of etcd {Endpoint} failed unexpectedly: {Reason}")]
    private partial void LogCheckFailed(string endpoint, string reason);

    [LoggerMessage(EventId = 803, Level = LogLevel.Warning, Message = "lease check for peer {Peer} failed unexpectedly: {Reason}")]
    private partial void LogLeaseCheckFailed(string peer, string reason);

    [LoggerMessage(EventId = 801, Level = LogLevel.Warning, Message = "{Reason}; retrying")]
    private partial void LogUnreachable(string reason);
}
