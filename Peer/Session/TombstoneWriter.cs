using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.History;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary>Takes a deleted message's text out of etcd for good: the key holding it is replaced by its tombstone (the
/// delete's own stored value, see <see cref="Tombstone"/>), a burst's other messages written as keys of their own
/// first. Off the loop, retried until it is done; only while the key is as read (compare-and-put), so two members
/// doing it at once, or a sender still writing, never lose a message.</summary>
internal sealed class TombstoneWriter(IHistoryStore history, Action<string> notice, CancellationToken stopping)
{
    /// <summary>What one try came to.</summary>
    public enum Outcome
    {
        /// <summary>No key holds the target's text any more (or none ever held it: beyond retention, never written).</summary>
        Done,

        /// <summary>The delete is not in etcd yet (its sender writes it before it publishes; a put-back may bring it).</summary>
        DeleteNotStored,

        /// <summary>A key changed while it was being replaced: read again.</summary>
        Raced,
    }

    /// <summary>Erases <paramref name="target"/> in <paramref name="group"/>'s history with the delete
    /// <paramref name="delete"/> (both ids), in the background until it is done (or the session stops). A delete its
    /// sender has not stored yet is waited for quietly at first; a failure is said once, and its end.</summary>
    public async Task EraseAsync(string group, string target, string delete)
    {
        // One at a time: a script deleting a thousand messages costs etcd one read of names after another, never a
        // thousand at once.
        try
        {
            await _one.WaitAsync(stopping);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        try
        {
            await EraseOneAsync(group, target, delete);
        }
        finally
        {
            _one.Release();
        }
    }

    private readonly SemaphoreSlim _one = new(1, 1);

    private async Task EraseOneAsync(string group, string target, string delete)
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5));
        var said = false;
        while (!stopping.IsCancellationRequested)
        {
            string? failing;
            try
            {
                var outcome = await TryEraseAsync(history, group, target, delete, stopping);
                if (outcome == Outcome.Done)
                {
                    if (said)
                    {
                        notice($"history of '{group}': the deleted message's text is out of etcd");
                    }

                    return;
                }

                failing = outcome == Outcome.DeleteNotStored && backoff.Failures >= QuietTries ? "the delete is not in etcd yet" : null;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                failing = e.Message;
            }

            var delay = backoff.Next();
            if (failing is not null && !said)
            {
                said = true;
                notice($"history of '{group}': taking a deleted message's text out of etcd failed ({failing}); retrying every {delay.TotalSeconds:F0} s or so");
            }

            try
            {
                await Task.Delay(delay, stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Tries in which a delete not yet stored is not said (its sender's write may be on its way: about 6 s).</summary>
    public const int QuietTries = 5;

    /// <summary>One try: finds the keys holding the target and the delete (names only, then the few values), and
    /// replaces each key that still holds the target's text.</summary>
    public static async Task<Outcome> TryEraseAsync(IHistoryStore history, string group, string target, string delete, CancellationToken ct)
    {
        var holdingTarget = new List<string>();
        string? holdingDelete = null;
        await history.ReadNamesSinceAsync(group, 0, page =>
        {
            foreach (var name in page)
            {
                if (Tombstone.Holds(name, target))
                {
                    holdingTarget.Add(name);
                }
                else if (holdingDelete is null && Tombstone.Holds(name, delete))
                {
                    holdingDelete = name;
                }
            }

            return ValueTask.CompletedTask;
        }, ct);
        if (holdingTarget.Count == 0)
        {
            return Outcome.Done;
        }

        if (holdingDelete is null)
        {
            return Outcome.DeleteNotStored;
        }

        var keys = await history.GetAsync(group, [holdingDelete, .. holdingTarget], ct);
        // The delete as its sender stored it: a header that names it is required (the receivers that show the
        // tombstone check its signature and who may delete).
        if (keys.FirstOrDefault(k => k.Name == holdingDelete) is not { } deleteKey || Tombstone.MessageIn(deleteKey, delete) is not { } stored
            || EnvelopeCodec.TryParse(stored.Value) is not { } parsed || parsed.HistoryName != stored.Name)
        {
            return Outcome.DeleteNotStored;
        }

        foreach (var key in keys.Where(k => k.Name != holdingDelete))
        {
            if (Tombstone.Replacing(key, target, stored.Value) is not { } replacing)
            {
                continue;
            }

            var tombstone = replacing.First(m => Tombstone.Holds(m.Name, target));
            // A burst's other messages first, create-only (a message both alone and in its burst is one message),
            // then the burst goes and the tombstone comes in one transaction.
            foreach (var batch in HistoryBatches.Of(replacing.Where(m => m != tombstone).ToList()))
            {
                await history.AppendAsync(batch, ct);
            }

            if (!await history.ReplaceAsync(key, tombstone, ct))
            {
                return Outcome.Raced;
            }
        }

        return Outcome.Done;
    }
}
