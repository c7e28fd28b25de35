using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Peer.Configuration;
using Mesh.Peer.Protocol;
using Microsoft.Extensions.Logging;

using Mesh.Peer.Home;

namespace Mesh.Peer.Session;

/// <summary>A group's history at join: the local copy, extended by what etcd has beyond it (or read again and
/// reconciled), opened and shown in key order, and what etcd lost put back. Session loop only.</summary>
internal sealed partial class HistoryLoader(SessionCore core, SessionParts parts, IEtcdInfo etcd, IHistoryStore history, IGroupLogStore logStore,
    HomeWriter home, RetentionKeeper retention, MeshOptions options)
{
    private readonly ILogger _log = core.Log;

    /// <summary>Shows the group's history, in key order: the local copy, extended by what etcd has beyond it (all of
    /// it the first time, or when the copy is damaged or etcd's history is not the one it followed, see
    /// <see cref="HistoryCatchUp"/>). Returns the revision read at.</summary>
    public async Task<long> LoadHistoryAsync(GroupState state, CancellationToken ct)
    {
        var group = state.Name;
        // What the last run sent and left in the outbox is read with the rest, in its place, not after it.
        await core.RecoveredWritten.WaitAsync(ct);
        var copy = await home.LoadCopyAsync(group);
        if (copy.Damaged > 0)
        {
            core.Emit(new ErrorEvent($"the local history copy of '{group}' had {copy.Damaged} damaged record(s) ({Path.Combine(options.Home, "history", group + ".log")}); reading them again from etcd"));
        }

        // What lies beyond the group's retention by age is not shown, nor taken for missing from etcd (members
        // delete it there); by count, it is known once the messages are opened.
        var policy = state.Log.Retention;
        var ageBound = new RetentionWindow(policy).ViewBound(core.NowMs);
        var copyHeld = copy.Entries.Count;
        if (ageBound is not null)
        {
            copy = copy with
            {
                Entries = copy.Entries.Where(e => string.CompareOrdinal(e.Name, ageBound) >= 0).ToList(),
                Witness = copy.WitnessEntry is { } w && string.CompareOrdinal(w.Name, ageBound) < 0 ? "" : copy.Witness,
            };
        }

        var current = await etcd.CurrentRevisionAsync(ct);
        // The last entry the copy took must still be in etcd, written at the same revision: otherwise etcd's data went
        // back (a restore) even if its revision has since moved on past the copy's. Under a count, members may have
        // deleted it as beyond the policy: the count of what is kept, below, tells a restore from that.
        var witnessHeld = copy.Revision == 0 || copy.WitnessEntry is not { } witness || policy.MaxCount is not null
            || await logStore.GetAsync(MeshKeys.HistoryPrefix(group) + witness.Name, ct) is { } held
                && (held.ModRevision == witness.Revision
                    // Written again since as a tombstone (a delete): the history did not go back.
                    || held.ModRevision > witness.Revision && Tombstone.LooksLike(new HistoryEntry(group, witness.Name, held.Value)));
        var plan = HistoryCatchUp.Plan(copy, etcd.ClusterId, current, witnessHeld);
        if (plan.Reason is not null)
        {
            core.Emit(new ErrorEvent($"history of '{group}': {plan.Reason}; reading it all again and putting back what this home holds and etcd lost"));
        }

        var fetched = new List<HistoryEntry>();
        ValueTask Fetch(IReadOnlyList<HistoryEntry> page)
        {
            fetched.AddRange(page);
            core.Emit(new HistoryProgressEvent(group, copy.Entries.Count + fetched.Count));
            return ValueTask.CompletedTask;
        }

        var timer = System.Diagnostics.Stopwatch.StartNew();
        var revision = plan.Kind == CatchUpKind.ReadSince
            ? await history.ReadSinceAsync(group, copy.Revision, Fetch, ct)
            : await history.ReadAsync(group, Fetch, ct);
        var readMs = timer.ElapsedMilliseconds;

        // One order for every view: whatever was read when, it is shown by key (each message's order stamp).
        var merged = HistoryCatchUp.Merge(copy.Entries, fetched);
        // Keys hold one message or a burst of one sender's: what is shown and counted is messages.
        var (messages, malformed) = await ExpandAsync(merged, ct);
        // Compared over what the policy keeps (members delete the rest, each at its own time): from the age bound, or
        // from the oldest of the newest messages a count keeps, whichever is later. Keys are counted from there on, here
        // and in etcd: a key is named for its last message, so it counts exactly when one of its messages is kept.
        var countFrom = RetentionWindow.Later(ageBound, policy.MaxCount is { } keep && messages.Count >= keep ? messages[^(int)keep].Name : null);
        var heldHere = countFrom is null ? merged.Count : merged.Count(e => string.CompareOrdinal(e.Name, countFrom) >= 0);
        if (plan.Kind == CatchUpKind.ReadSince && await history.CountAsync(group, revision, ct, countFrom) is { } inEtcd && inEtcd != heldHere)
        {
            // The copy and what etcd held at that revision should be the same set: etcd lost entries the copy holds
            // (a restore that the copy's last noted entry did not reveal), or the copy has a hole. Read it all.
            core.Emit(new ErrorEvent($"history of '{group}': etcd holds {inEtcd} messages and this home {heldHere}; reading it all again and putting back what etcd lost"));
            plan = new CatchUpPlan(CatchUpKind.Reconcile, "counts differ");
            fetched.Clear();
            revision = await history.ReadAsync(group, Fetch, ct);
            merged = HistoryCatchUp.Merge(copy.Entries, fetched);
            (messages, malformed) = await ExpandAsync(merged, ct);
        }

        parts.Receiver.RejectStored(state, malformed);
        var expandedMs = timer.ElapsedMilliseconds;
        var bound = await ShowHistoryAsync(state, messages, ct);
        LogHistoryStages(group, fetched.Count, readMs, messages.Count, expandedMs - readMs, timer.ElapsedMilliseconds - expandedMs);

        if (plan.Kind == CatchUpKind.Reconcile)
        {
            // Only what a member of the group sealed, and the policy keeps, goes back: the copy also took whatever an
            // etcd writer once put under the prefix, and that is left where etcd lost it (in the copy too, so the next
            // count agrees).
            var missing = await SealedByMembersAsync(state, HistoryCatchUp.MissingFromEtcd(copy.Entries, fetched)
                .Where(e => bound is null || string.CompareOrdinal(e.Name, bound) >= 0).ToList(), ct);
            // The copy's tombstones stay over the text etcd gave back (a delete never comes undone).
            home.ReplaceCopy(group, HistoryCatchUp.Merge(fetched, [.. missing, .. copy.Entries.Where(Tombstone.LooksLike)]).Where(e => bound is null || string.CompareOrdinal(e.Name, bound) >= 0).ToList(), revision);
            PutBack(group, missing);
        }
        else
        {
            var known = new HashSet<string>(copy.Entries.Select(e => e.Name), StringComparer.Ordinal);
            home.AppendCopy(group, fetched.Where(e => !known.Contains(e.Name)).ToList(), revision);
        }

        state.CopyRevision = revision;
        parts.Erasures.OnLoaded(state, fetched);
        if (bound is not null && (copyHeld > copy.Entries.Count || copy.Entries.Count > 0 && string.CompareOrdinal(copy.Entries[0].Name, bound) < 0))
        {
            // The copy holds what the policy no longer keeps: dropped from it in the background.
            retention.TrimLocal(group, bound);
        }

        LogHistoryLoaded(group, copy.Entries.Sum(e => HistoryKey.MessageCount(e.Name)), fetched.Sum(e => HistoryKey.MessageCount(e.Name)));
        return revision;
    }

    /// <summary>The messages of <paramref name="keys"/>, in name order, and how many keys were malformed: worked out
    /// off the loop (a long history's headers are parsed on every core).</summary>
    private static Task<(List<HistoryEntry> Messages, int Malformed)> ExpandAsync(IReadOnlyList<HistoryEntry> keys, CancellationToken ct) =>
        Task.Run(() => (HistoryKey.ExpandAll(keys, out var malformed, parallel: true), malformed), ct);

    /// <summary>Opens stored messages (in name order) and shows, in that order, what the group's retention keeps of
    /// them; returns where the kept history begins (null: all of it).</summary>
    private async Task<string?> ShowHistoryAsync(GroupState state, IReadOnlyList<HistoryEntry> entries, CancellationToken ct)
    {
        // Opened off the loop, on every core (see HistoryOpener); ordered here, one by one. The echo of a message shown
        // already (a live frame before the load) is not opened again: its name says so.
        var toOpen = entries.Where(e => !(Envelope.TryParseHistoryName(e.Name, out var peerId, out var epoch, out var seq)
            && state.Orderer.AlreadyDelivered(peerId, epoch, seq))).ToList();
        var timer = System.Diagnostics.Stopwatch.StartNew();
        var results = await HistoryOpener.OpenAsync(state.Name, state.Log, core.Keyring.Of(state.Name), core.PeerId, toOpen, ct);
        var openMs = timer.ElapsedMilliseconds;
        var opened = new Envelope?[toOpen.Count];
        for (var i = 0; i < opened.Length; i++)
        {
            // Live frames are taken while the pages open: one shown meanwhile is not offered (or counted) again.
            opened[i] = parts.Receiver.TakeOpened(state, toOpen[i], results[i]) is { } envelope
                && !state.Orderer.AlreadyDelivered(envelope.PeerId, envelope.Epoch, envelope.Seq) ? envelope : null;
        }

        // What a count keeps is counted over the messages that open, never over etcd's keys; every one of them
        // (shown or not) tells the window how far the group's own messages have come.
        var now = core.NowMs;
        var opening = new HashSet<Envelope>(ReferenceEqualityComparer.Instance);
        foreach (var envelope in opened)
        {
            if (envelope is not null)
            {
                state.Window.Offer(envelope, fromOther: envelope.PeerId != core.PeerId, now);
                opening.Add(envelope);
            }
        }

        var bound = state.Window.ViewBound(now);
        foreach (var envelope in opened)
        {
            if (envelope is not null && (bound is null || string.CompareOrdinal(envelope.HistoryName, bound) >= 0))
            {
                foreach (var ready in state.Orderer.OfferHistory(envelope))
                {
                    parts.Receiver.Deliver(ready, own: ready.PeerId == core.PeerId && ready.Epoch == core.RunEpoch, counted: opening.Contains(ready));
                }
            }
        }

        LogShown(state.Name, toOpen.Count, openMs, timer.ElapsedMilliseconds - openMs);
        return bound;
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 508, Level = Microsoft.Extensions.Logging.LogLevel.Debug, Message = "history of '{Group}': {Count} messages opened in {OpenMs} ms, ordered and shown in {ShowMs} ms")]
    private partial void LogShown(string group, int count, long openMs, long showMs);

    /// <summary>The stored keys whose every message is one the group's log says its sender could seal, under its own
    /// name (opened off the loop).</summary>
    private async Task<List<HistoryEntry>> SealedByMembersAsync(GroupState state, List<HistoryEntry> keys, CancellationToken ct)
    {
        var expanded = keys.Select(HistoryKey.TryExpand).ToList();
        var messages = expanded.Where(m => m is not null).SelectMany(m => m!).ToList();
        var opened = await HistoryOpener.OpenAsync(state.Name, state.Log, core.Keyring.Of(state.Name), core.PeerId, messages, ct);
        var sealedByMembers = new HashSet<HistoryEntry>(messages.Where((_, i) => opened[i].Envelope is not null), ReferenceEqualityComparer.Instance);
        return keys.Where((_, i) => expanded[i] is { } held && held.All(sealedByMembers.Contains)).ToList();
    }

    /// <summary>Writes back, in the background and until it lands, history that this home holds and etcd lost.</summary>
    private void PutBack(string group, List<HistoryEntry> missing)
    {
        if (missing.Count == 0)
        {
            return;
        }

        var messages = missing.Sum(e => HistoryKey.MessageCount(e.Name));
        _ = RetryUntilDone.RunAsync(async ct =>
        {
            foreach (var batch in HistoryBatches.Of(missing))
            {
                await history.AppendAsync(batch, ct);
            }

            core.Post(new SessionInput.Notice($"history of '{group}': put back {messages} messages from this home's copy into etcd"));
        },
        (reason, delay) => core.Post(new SessionInput.Notice($"history of '{group}': putting back {messages} messages failed ({reason}); retrying every {delay.TotalSeconds:F0} s or so")),
        null, core.Stopping);
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 507, Level = Microsoft.Extensions.Logging.LogLevel.Debug, Message = "history of '{Group}': {Keys} keys read from etcd in {ReadMs} ms, {Messages} messages taken out of the keys in {ExpandMs} ms, opened and shown in {ShowMs} ms")]
    private partial void LogHistoryStages(string group, int keys, long readMs, int messages, long expandMs, long showMs);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 503, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "history of '{Group}': {Local} from the local copy, {Fetched} fetched from etcd")]
    private partial void LogHistoryLoaded(string group, int local, int fetched);
}
