using System.Globalization;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;

namespace Mesh.Peer.Groups;

/// <summary>Follows one group's log as etcd's copy changes: applies the next entries as they become applicable, keeps
/// those seen ahead of a gap, defends what this peer applied, and knows what occupies the next index. Pure: it decides,
/// the session does the I/O.</summary>
/// <remarks>
/// What sits at the next index is remembered with its modification revision only while it is there: junk that is
/// deleted or rewritten is forgotten or replaced by what the watch says next, so a commit never compares against a
/// revision an etcd writer has since moved on from.
/// </remarks>
public sealed class LogFollower(GroupLog log)
{
    /// <summary>Rival entries checked per follower at most: each costs a replay of the log up to its index, on the
    /// session's loop (about 50 µs an entry), so a member signing rival after rival costs a bounded amount. A genuine fork
    /// needs one; further rivals are taken for rewrites and the held entry put back.</summary>
    public const int MaxRivalsChecked = 16;

    private readonly HashSet<string> _rivalsSeen = new(StringComparer.Ordinal);

    /// <summary>How far beyond the log's head entries are kept while the gap before them closes.</summary>
    public const int MaxFutureEntries = 256;

    private readonly SortedDictionary<long, (byte[] Value, long ModRevision)> _future = [];
    private readonly HashSet<long> _reported = [];

    public GroupLog Log { get; private set; } = log;

    public string Group => Log.Group;

    /// <summary>The modification revision of the record the log refused at the next index, while it is there; 0 when
    /// the index is free or holds nothing known.</summary>
    public long NextSlotRevision { get; private set; }

    /// <summary>The log index a key of this group's log names: 0 for the genesis (the directory entry), null for any
    /// other key.</summary>
    public static long? IndexOf(string group, string key)
    {
        if (key == MeshKeys.Group(group))
        {
            return 0;
        }

        var prefix = MeshKeys.LogPrefix(group);
        return key.StartsWith(prefix, StringComparison.Ordinal)
            && long.TryParse(key.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index >= 1
            ? index
            : null;
    }

    /// <summary>Takes changes of the log's keys (a watch batch, a read, or what a failed commit found at its index).</summary>
    /// <param name="changes">The changes, in revision order.</param>
    /// <param name="defend">Whether this peer puts back entries it applied that etcd lost or holds altered (members do;
    /// a peer still waiting for admission trusted its first read only so far, and must not fight members over it).</param>
    /// <param name="nowMs">This peer's clock, for the entries' time check.</param>
    public LogStep Observe(IReadOnlyList<KeyChange> changes, bool defend, long nowMs)
    {
        var repairs = new List<long>();
        var errors = new List<string>();
        foreach (var change in changes)
        {
            if (IndexOf(Group, change.Key) is not { } index)
            {
                continue;
            }

            if (index <= Log.Head && index > 0 && !change.IsDelete && Rival(index, change.Value, nowMs) is { } rival)
            {
                var ours = LogEntry.TryParse(Log.RecordAt(index), out _)!;
                var who = rival.By == ours.By
                    ? $"{Log.NameOf(ours.By) ?? ours.By} signed two different entries for index {index} (hashes {ours.Hash[..12]} and {rival.Hash[..12]}: proof of a member turned hostile)"
                    : $"two different entries were written for index {index}, by {Log.NameOf(ours.By) ?? ours.By} and {Log.NameOf(rival.By) ?? rival.By}";
                if (string.CompareOrdinal(rival.Hash, ours.Hash) < 0)
                {
                    errors.Add($"group '{Group}': {who}; every member follows the one with the lower hash, {rival.Hash[..12]}: this peer switches to it");
                    Log = Log.PrefixUpTo(index - 1);
                    Log.TryApply(change.Value, out _);
                    _future.Clear();
                    _reported.Clear();
                    NextSlotRevision = 0;
                    return new LogStep([rival], repairs, errors) { SwitchedAt = index };
                }

                errors.Add($"group '{Group}': {who}; every member follows the one with the lower hash, {ours.Hash[..12]}, which this peer holds");
                repairs.Add(index);
                continue;
            }

            if (index <= Log.Head)
            {
                if (defend && (change.IsDelete || !change.Value.AsSpan().SequenceEqual(Log.RecordAt(index))))
                {
                    // An etcd writer deleted or rewrote an entry this peer applied: the chain it holds stands.
                    if (_reported.Add(index))
                    {
                        errors.Add($"group '{Group}': entry {index} of the group log was {(change.IsDelete ? "deleted" : "rewritten")} in etcd; keeping the one this peer checked and putting it back");
                    }

                    repairs.Add(index);
                }

                continue;
            }

            if (index == Log.Head + 1)
            {
                // What occupies the next index now: nothing after a delete, else this (judged below).
                NextSlotRevision = 0;
            }

            if (change.IsDelete)
            {
                _future.Remove(index);
            }
            else if (index <= Log.Head + MaxFutureEntries)
            {
                // Entries far ahead cannot be applied before those in between: an etcd writer's junk there costs nothing.
                _future[index] = (change.Value, change.ModRevision);
            }
        }

        var applied = new List<LogEntry>();
        while (_future.Remove(Log.Head + 1, out var next))
        {
            var index = Log.Head + 1;
            if (!Log.TryApply(next.Value, out var why))
            {
                NextSlotRevision = next.ModRevision;
                if (_reported.Add(index))
                {
                    errors.Add($"group '{Group}': entry {index} of the group log rejected ({why}); ignoring it");
                }

                break;
            }

            _reported.Remove(index);
            NextSlotRevision = 0;
            var entry = LogEntry.TryParse(next.Value, out _)!;
            if (entry.AtMs > nowMs + (long)GroupLog.MaxAhead.TotalMilliseconds)
            {
                errors.Add($"group '{Group}': entry {index} of the group log, by {Log.NameOf(entry.By) ?? entry.By}, is stamped {Ahead(entry.AtMs - nowMs)} ahead of this peer's clock (one of the two clocks is wrong; no decision rests on it)");
            }

            applied.Add(entry);
        }

        return applied.Count == 0 && repairs.Count == 0 && errors.Count == 0 ? LogStep.Nothing : new LogStep(applied, repairs, errors);
    }

    /// <summary>A valid entry for <paramref name="index"/> other than the one this peer applied: signed by a member the
    /// log allowed there, following the same predecessor (each seen once; junk and replays cost a parse).</summary>
    private LogEntry? Rival(long index, byte[] value, long nowMs)
    {
        if (value.AsSpan().SequenceEqual(Log.RecordAt(index)) || LogEntry.TryParse(value, out _) is not { } entry
            || entry.Index != index || entry.Group != Group || entry.Previous != Log.HashAt(index - 1)
            || _rivalsSeen.Count >= MaxRivalsChecked || !_rivalsSeen.Add(entry.Hash))
        {
            return null;
        }

        return Log.PrefixUpTo(index - 1).TryApply(value, out _) ? entry : null;
    }

    private static string Ahead(long ms) =>
        ms >= 2 * 86_400_000L ? $"{ms / 86_400_000L} days" : ms >= 2 * 3_600_000L ? $"{ms / 3_600_000L} hours" : $"{ms / 60_000L} minutes";
}
