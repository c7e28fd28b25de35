using Mesh.Coordinator.History;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary>Opens stored history entries off the loop, on every core: signature checks are most of the cost of a long
/// history. The threads that open read only a snapshot handed to them (the group's log, its keys) and a cache of their
/// own, never the loop's state; the loop then takes what opened, in key order.</summary>
internal static class HistoryOpener
{
    /// <summary>What opening one entry came to: the envelope, or why not (and whether it may open later).</summary>
    public readonly record struct Opened(Envelope? Envelope, RejectReason Reason, bool Park, string PeerId);

    /// <summary>Opens <paramref name="entries"/> in the background; the result is in their order.</summary>
    public static Task<Opened[]> OpenAsync(string group, GroupLog log, IReadOnlyDictionary<long, GroupKey> keys, string selfPeerId,
        IReadOnlyList<HistoryEntry> entries, CancellationToken ct)
    {
        var snapshot = new Dictionary<long, GroupKey>(keys);
        return Task.Run(() =>
        {
            var verified = new VerifiedBursts();
            var opened = new Opened[entries.Count];
            Parallel.For(0, entries.Count, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Runtime.SpinFreeRuntime.Cores },
                i => opened[i] = Open(group, log, snapshot, selfPeerId, entries[i], verified));
            return opened;
        }, ct);
    }

    private static Opened Open(string group, GroupLog log, Dictionary<long, GroupKey> keys, string selfPeerId, HistoryEntry entry, VerifiedBursts verified)
    {
        if (EnvelopeCodec.TryParse(entry.Value) is not { } parsed)
        {
            return new Opened(null, RejectReason.Malformed, false, "");
        }

        var envelope = EnvelopeGate.Open(group, log, keys.GetValueOrDefault, selfPeerId, parsed, live: false, verified, out var reason, out var park);
        if (envelope is not null && envelope.HistoryName != entry.Name)
        {
            // Stored under another message's name: that message's tombstone, or an etcd writer's replay.
            return Tombstone.TryOpen(entry.Name, envelope, log) is { } deleted
                ? new Opened(deleted, reason, false, parsed.PeerId)
                : new Opened(null, RejectReason.Malformed, false, parsed.PeerId);
        }

        return new Opened(envelope, reason, envelope is null && park, parsed.PeerId);
    }
}
