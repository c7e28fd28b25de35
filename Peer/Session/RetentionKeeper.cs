using Mesh.Coordinator.History;
using Mesh.Peer.Home;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary>Deletes what lies beyond each group's retention, from etcd and from this home's copy, in the background:
/// the loop hands it a bound (<see cref="RetentionWindow.DeleteBound"/>) at most every quarter interval, and it takes
/// the group's trim claim (<see cref="TrimSchedule"/>) before deleting.</summary>
/// <remarks>
/// Nothing here waits inside the loop. A trim that fails is logged once per failure and tried again at the next
/// check; a background task never throws out of here.
/// </remarks>
internal sealed partial class RetentionKeeper(
    IHistoryStore history,
    ITrimClaims claims,
    HomeWriter home,
    string peerId,
    TimeSpan interval,
    ILogger log,
    CancellationToken stop)
{
    private readonly TrimSchedule _schedule = new(interval);
    private readonly Dictionary<string, long> _nextCheckMs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _failing = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Messages deleted from etcd by this peer, and from its copy (for tests and the log).</summary>
    public long DeletedFromEtcd => Interlocked.Read(ref _deletedFromEtcd);

    private long _deletedFromEtcd;

    /// <summary>Loop: what <paramref name="state"/>'s retention lets go now, checked at most every quarter interval.</summary>
    /// <param name="nowMs">The wall clock: what retention by age compares with messages' stamps, and trim claims carry.</param>
    /// <param name="monoMs">The monotonic clock: when this peer checks next.</param>
    public void Tick(GroupState state, long nowMs, long monoMs)
    {
        if (state.Log.Retention.KeepsAll || !state.HistoryLoaded || state.Left)
        {
            return;
        }

        var group = state.Name;
        if (_nextCheckMs.TryGetValue(group, out var next) && monoMs < next
            || _running.TryGetValue(group, out var running) && !running.IsCompleted)
        {
            return;
        }

        // Members check at different moments (a random phase), so one of them is first.
        _nextCheckMs[group] = monoMs + (long)(interval.TotalMilliseconds / 4 * (0.75 + Random.Shared.NextDouble() / 2));

        if (state.Window.DeleteBound(nowMs) is not { } bound)
        {
            return;
        }

        _running[group] = Task.Run(() => TrimAsync(group, bound, nowMs), CancellationToken.None);
    }

    /// <summary>Drops from this home's copy what lies before <paramref name="bound"/>, in the background.</summary>
    public void TrimLocal(string group, string bound) => _ = TrimLocalAsync(group, bound);

    private async Task TrimLocalAsync(string group, string bound)
    {
        try
        {
            if (await home.TrimCopyAsync(group, bound) is > 0 and var dropped)
            {
                LogTrimmedLocal(dropped, group);
            }
        }
        catch (Exception e)
        {
            LogTrimFailing(group, e.Message);
        }
    }

    /// <summary>The group was left: its schedule is forgotten.</summary>
    public void Forget(string group)
    {
        _nextCheckMs.Remove(group);
        lock (_lock)
        {
            _schedule.Forget(group);
        }
    }

    private async Task TrimAsync(string group, string bound, long nowMs)
    {
        try
        {
            if (await history.CountBeforeAsync(group, bound, stop) == 0)
            {
                // Nothing in etcd lies beyond the policy: only this home's copy may still hold some.
                await home.TrimCopyAsync(group, bound);
                Recovered(group);
                return;
            }

            var claim = await claims.ReadAsync(group, stop);
            TrimTurn turn;
            string? stale;
            lock (_lock)
            {
                turn = _schedule.Decide(group, claim, bound, nowMs);
                stale = _schedule.StaleBound(group, nowMs);
            }

            var force = false;
            if (turn == TrimTurn.Wait)
            {
                // Someone took the claim within the interval; if what it should have deleted two intervals ago is
                // still there, no one is trimming (the claim key is anyone's to move): trim anyway.
                if (stale is null || await history.CountBeforeAsync(group, stale, stop) == 0)
                {
                    Recovered(group);
                    return;
                }

                force = true;
                LogClaimIgnored(group);
            }

            if (!await claims.TryTakeAsync(group, claim, peerId, force, stop))
            {
                Recovered(group);
                return;
            }

            var deleted = await history.DeleteBeforeAsync(group, bound, stop);
            Interlocked.Add(ref _deletedFromEtcd, deleted);
            var dropped = await home.TrimCopyAsync(group, bound);
            var taken = await claims.ReadAsync(group, stop);
            lock (_lock)
            {
                _schedule.Trimmed(group, taken, nowMs);
            }

            LogTrimmed(deleted, dropped, group, bound);
            Recovered(group);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Tried again at the next check; said once until it works.
            lock (_lock)
            {
                if (_failing.TryAdd(group, e.Message))
                {
                    LogTrimFailing(group, e.Message);
                }
            }
        }
    }

    private void Recovered(string group)
    {
        lock (_lock)
        {
            if (_failing.Remove(group))
            {
                LogTrimRecovered(group);
            }
        }
    }

    [LoggerMessage(EventId = 530, Level = LogLevel.Information, Message = "history of '{Group}': deleted {Deleted} messages beyond its retention from etcd and {Dropped} from this home's copy (everything before {Bound})")]
    private partial void LogTrimmed(long deleted, long dropped, string group, string bound);

    [LoggerMessage(EventId = 531, Level = LogLevel.Information, Message = "history of '{Group}': dropped {Dropped} messages beyond its retention from this home's copy")]
    private partial void LogTrimmedLocal(long dropped, string group);

    [LoggerMessage(EventId = 532, Level = LogLevel.Warning, Message = "history of '{Group}': deleting what lies beyond its retention failed ({Reason}); trying again at the next check")]
    private partial void LogTrimFailing(string group, string reason);

    [LoggerMessage(EventId = 533, Level = LogLevel.Information, Message = "history of '{Group}': deleting what lies beyond its retention works again")]
    private partial void LogTrimRecovered(string group);

    [LoggerMessage(EventId = 534, Level = LogLevel.Warning, Message = "history of '{Group}': the trim claim moved but nothing was deleted for two intervals; trimming anyway")]
    private partial void LogClaimIgnored(string group);
}
