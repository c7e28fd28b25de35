using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Peer.Groups;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary>This peer's changes to a group's log, one try in flight per group (<see cref="LogCommitter"/> decides, this
/// sends): each try runs in the background and its answer comes back to the loop. Session loop only.</summary>
internal sealed partial class CommitRunner(SessionCore core, SessionParts parts, IGroupLogStore logStore)
{
    private readonly ILogger _log = core.Log;

    /// <summary>Queues a change to the group's log; tries go out one at a time (<see cref="LogCommitter"/>).</summary>
    public void Commit(GroupState state, CommitIntent intent)
    {
        state.Committer.Enqueue(intent);
        PumpCommits(state);
    }

    /// <summary>Sends the next try of the group's commits, if none is in flight: in the background (a slow or frozen
    /// etcd never stalls the chat); its answer comes back as <see cref="SessionInput.Appended"/>.</summary>
    public void PumpCommits(GroupState state)
    {
        var ended = new List<(CommitIntent, CommitEnd)>();
        var next = state.Committer.NextTry(state.Log, state.Follower.NextSlotRevision, core.MonoMs, ended);
        foreach (var (intent, end) in ended)
        {
            Finish(state.Name, intent, end);
        }

        if (next is not { } attempt)
        {
            return;
        }

        var (append, commit) = attempt;
        var group = state.Name;
        var ct = core.Stopping;
        var rest = commit.Grants.Skip(append.Alongside.Count).ToList();
        var thenDelete = state.Committer.CurrentThenDelete;
        _ = Task.Run(async () =>
        {
            try
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var result = await logStore.TryAppendAsync(append, ct);
                if (result.Written)
                {
                    LogCommitted(append.Index, group, clock.Elapsed.TotalMilliseconds);
                    // Grants beyond one transaction's room, then the requests it served; the entry stands already.
                    foreach (var (key, value) in rest)
                    {
                        await RetryUntilDone.RunAsync(c => logStore.PutAsync(key, value, c),
                            (reason, _) => core.Post(new SessionInput.Notice($"group '{group}': writing a key grant failed ({reason}); retrying")), null, ct);
                    }

                    foreach (var key in thenDelete)
                    {
                        await logStore.DeleteAsync(key, ct);
                    }
                }

                core.Post(new SessionInput.Appended(group, commit, result, null));
            }
            catch (Exception e)
            {
                // Whatever failed, the loop hears of it: the group is never left believing a try is on its way.
                core.Post(new SessionInput.Appended(group, commit, null, e is EtcdUnavailableException ? e.Message : $"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}"));
            }
        }, CancellationToken.None);
    }

    public async Task OnAppendedAsync(SessionInput.Appended appended, CancellationToken ct)
    {
        if (!core.Groups.TryGetValue(appended.Group, out var state))
        {
            return;
        }

        var commit = appended.Commit;
        if (appended.Result is not { } result)
        {
            state.Committer.Failed(core.MonoMs);
            core.Warnings.Warn($"commit:{state.Name}", $"group '{state.Name}': a change to its log did not reach etcd ({appended.Error}); trying again");
            return;
        }

        if (result.Written)
        {
            if (commit.NewKey is not null)
            {
                // A fresh epoch key is kept as soon as it is committed.
                core.Keyring.Save(state.Name, [(LogEntry.TryParse(commit.Record, out _)!.Epoch, commit.NewKey)]);
            }

            var ended = state.Committer.Completed(written: true, lostToJunk: false);
            await parts.Follow.OnLogStepAsync(state, state.Follower.Observe(
                commit.Entries.Select(e => new KeyChange(MeshKeys.LogEntry(state.Name, e.Index), false, e.Record, 0, 0)).ToList(), defend: true, core.NowMs), ct);
            if (ended is { } done)
            {
                Finish(state.Name, done.Intent, done.End);
            }
        }
        else
        {
            // What holds the index now: a valid entry is applied (and the intent built again on top of it), junk is
            // remembered with its revision (the next try replaces it if it is still that), nothing frees the index.
            var head = state.Log.Head;
            var at = MeshKeys.LogEntry(state.Name, commit.Index);
            await parts.Follow.OnLogStepAsync(state, state.Follower.Observe(
                [result.Occupant is null ? new KeyChange(at, true, [], 0, 0) : new KeyChange(at, false, result.Occupant, result.OccupantRevision, 0)],
                defend: state.Log.Members.ContainsKey(core.PeerId), core.NowMs), ct);
            if (state.Committer.Completed(written: false, lostToJunk: state.Log.Head == head) is { } ended)
            {
                Finish(state.Name, ended.Intent, ended.End);
            }
        }

        parts.Admissions.Replan(state);
        PumpCommits(state);
        // Whoever waits next need not wait for the tick.
        parts.Admissions.ActOnSchedule();
    }

    /// <summary>Tells an intent how it ended, on the loop; a failure there costs that intent only.</summary>
    private void Finish(string group, CommitIntent intent, CommitEnd end)
    {
        if (end == CommitEnd.GaveUp)
        {
            core.Warnings.Warn($"gaveup:{intent.What}", $"{intent.What}: the next index of the group log was taken by records the log refuses, rewritten {LogCommitter.MaxJunkTries} times in a row; trying again");
        }

        if (intent.Then is { } then)
        {
            core.Post(new SessionInput.Continue(group, () => then(end)));
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 514, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "committed entry {Index} of the group log of '{Group}': written in {WrittenMs:F1} ms")]
    private partial void LogCommitted(long index, string group, double writtenMs);
}
