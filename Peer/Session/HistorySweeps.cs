using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.History;
using Mesh.Peer.Node;
using Mesh.Peer.Protocol;
using Microsoft.Extensions.Logging;

using Mesh.Peer.Home;

namespace Mesh.Peer.Session;

/// <summary>History read for what the live path missed (see <see cref="HistorySweep"/>), and the local copy fed with
/// what was shown. Session loop only.</summary>
internal sealed partial class HistorySweeps(SessionCore core, SessionParts parts, IHistoryStore history, HomeWriter home, IMeshNode node)
{
    private readonly ILogger _log = core.Log;

    /// <summary>Live messages shown but not yet in the local copy: written in one go when the loop runs out of input.</summary>
    private readonly Dictionary<string, List<HistoryEntry>> _copyPending = new(StringComparer.Ordinal);

    public void SweepWhereDue()
    {
        var now = core.MonoMs;
        foreach (var state in core.Groups.Values)
        {
            if (!state.Connected || state.Sweep is not { } sweep)
            {
                continue;
            }

            sweep.LinksDown = state.Members.Keys.Any(p => !parts.Links.Table.IsUp(p));
            if (sweep.Due(now))
            {
                StartSweep(state, sweep, now);
            }
        }
    }

    /// <summary>Lists, in the background, the names written since the copy's revision; the loop picks those it lacks.</summary>
    private void StartSweep(GroupState state, HistorySweep sweep, long now)
    {
        sweep.Start(now);
        var group = state.Name;
        var from = state.CopyRevision;
        _ = RetryUntilDone.RunAsync(async ct =>
        {
            var names = new List<string>();
            var revision = await history.ReadNamesSinceAsync(group, from, page =>
            {
                names.AddRange(page);
                return ValueTask.CompletedTask;
            }, ct);
            core.Post(new SessionInput.HistoryNames(group, names, revision));
        },
        (reason, _) => LogSweepFailing(group, reason),
        null, core.Stopping);
    }

    public void OnHistoryNames(SessionInput.HistoryNames listed)
    {
        if (!core.Groups.TryGetValue(listed.Group, out var state) || !state.Connected || state.Sweep is not { } sweep)
        {
            return;
        }

        // In key order, whatever order etcd listed them in (by revision, page by page, and within one revision in no
        // stable order): a key begins with the message's order stamp, so each sender's messages come in its numbers.
        var lacking = listed.Names.Where(name => !HoldsAll(state, name)).Order(StringComparer.Ordinal).ToList();
        if (lacking.Count == 0)
        {
            CompleteSweep(state, sweep, listed.Revision, found: 0);
            return;
        }

        var group = listed.Group;
        _ = RetryUntilDone.RunAsync(async ct =>
        {
            foreach (var batch in lacking.Chunk(EtcdHistoryStore.PageSize))
            {
                core.Post(new SessionInput.HistoryFetched(group, await history.GetAsync(group, batch, ct), null));
            }

            core.Post(new SessionInput.HistoryFetched(group, [], listed.Revision));
        },
        (reason, _) => LogSweepFailing(group, reason),
        null, core.Stopping);
    }

    /// <summary>Whether every message a key's name claims is held already (a name that is not a peer's: no).</summary>
    private static bool HoldsAll(GroupState state, string name)
    {
        if (!HistoryKey.TryParse(name, out var peerId, out var epoch, out var first, out var last))
        {
            return false;
        }

        // At most BurstFrame.MaxParts numbers: the name's count is bounded when parsed.
        for (var seq = first; seq <= last; seq++)
        {
            if (!state.Orderer.Holds(peerId, epoch, seq))
            {
                return false;
            }
        }

        return true;
    }

    public void OnHistoryFetched(SessionInput.HistoryFetched fetched)
    {
        if (!core.Groups.TryGetValue(fetched.Group, out var state) || !state.Connected)
        {
            return;
        }

        if (fetched.Page.Count > 0)
        {
            home.AppendCopy(fetched.Group, fetched.Page, state.CopyRevision);
            state.SweepFetched.AddRange(fetched.Page);
        }

        if (fetched.CompleteAt is { } revision)
        {
            ShowFetched(state);
            if (state.Sweep is { } sweep)
            {
                CompleteSweep(state, sweep, revision, state.SweepFound);
            }

            state.SweepFound = 0;
        }
        else if (state.SweepFetched.Sum(e => (long)e.Value.Length) > MaxHeldBytes)
        {
            // A sweep after a long cut: what is held so far is shown now rather than held without bound.
            ShowFetched(state);
        }
    }

    /// <summary>The most bytes of fetched keys a sweep holds before it shows them: its messages are shown in name order
    /// within what it holds.</summary>
    public const long MaxHeldBytes = 16 * 1024 * 1024;

    /// <summary>Shows the messages of the keys fetched so far, in name order, each once (a retried fetch repeats keys).</summary>
    private void ShowFetched(GroupState state)
    {
        var messages = HistoryKey.ExpandAll(state.SweepFetched, out var malformed);
        state.SweepFetched.Clear();
        parts.Receiver.RejectStored(state, malformed);
        var repaired = state.Orderer.GapsRepaired;
        foreach (var message in messages)
        {
            if (parts.Receiver.OpenStored(state, message.Name, message.Value) is not { } envelope)
            {
                continue;
            }

            state.SweepFound++;
            foreach (var ready in state.Orderer.OfferHistory(envelope))
            {
                parts.Receiver.Deliver(ready, own: false);
            }
        }

        core.Instruments.GapsRepaired(state.Name, state.Orderer.GapsRepaired - repaired);
        if (state.Orderer.GapsRepaired > repaired)
        {
            LogRepaired(state.Orderer.GapsRepaired - repaired, state.Name);
        }
    }

    private void CompleteSweep(GroupState state, HistorySweep sweep, long revision, long found)
    {
        state.CopyRevision = Math.Max(state.CopyRevision, revision);
        FlushCopy();
        home.AppendCopy(state.Name, [], state.CopyRevision);
        sweep.Complete(core.MonoMs, found > 0);
        if (found > 0)
        {
            LogTookFromHistory(found, state.Name);
        }
    }

    /// <summary>Keeps a live message for the local copy (the bytes published are the bytes etcd stores).</summary>
    public void CopyLive(string group, string name, byte[] payload)
    {
        if (!_copyPending.TryGetValue(group, out var pending))
        {
            _copyPending[group] = pending = [];
        }

        pending.Add(new HistoryEntry(group, name, payload));
        if (!_copyFlushQueued && node.OnLoop)
        {
            // Once the loop has taken the frames at hand (a socket's batch), they go to disk in one write.
            _copyFlushQueued = true;
            _ = Task.Factory.StartNew(FlushCopy, CancellationToken.None, TaskCreationOptions.DenyChildAttach, node.Loop);
        }
    }

    private bool _copyFlushQueued;

    /// <summary>The local copy's writes reach the disk itself.</summary>
    public void Checkpoint() => home.Checkpoint();

    public void FlushCopy()
    {
        _copyFlushQueued = false;
        foreach (var (group, pending) in _copyPending)
        {
            if (pending.Count > 0 && core.Groups.TryGetValue(group, out var state))
            {
                // Live entries carry no revision: the copy's revision moves only when a sweep read etcd up to one.
                home.AppendCopy(group, pending, state.CopyRevision);
            }

            pending.Clear();
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 504, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "repaired {Count} messages of '{Group}' from history")]
    private partial void LogRepaired(long count, string group);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 505, Level = Microsoft.Extensions.Logging.LogLevel.Debug, Message = "took {Count} messages of '{Group}' from history that had not come over a link")]
    private partial void LogTookFromHistory(long count, string group);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 517, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "history of '{Group}': reading what the live path missed failed ({Reason}); retrying")]
    private partial void LogSweepFailing(string group, string reason);
}
