using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary>Decides whether a parsed envelope opens for a group: the key of the epoch it names, and the group log's
/// word that its sender was a member allowed to seal under that epoch at that log head.</summary>
/// <remarks>Everything in an envelope is untrusted until this says yes: a key epoch or log head beyond what this peer
/// knows may open later (it is parked, never taken on trust), a sender the log does not hold is refused, and live, an
/// epoch whose successor this peer heard of more than <see cref="InFlightGrace"/> ago is refused as stale (history
/// still takes it: it was sealed while that epoch was current).</remarks>
internal sealed class EnvelopeGate(string selfPeerId, EpochKeyring keyring, VerifiedBursts verified)
{
    /// <summary>How long a live frame under an epoch whose successor was committed is still taken: it was sealed
    /// before its sender heard of the rotation (the sender's log head says so) and was on its way.</summary>
    public static readonly TimeSpan InFlightGrace = TimeSpan.FromSeconds(5);

    /// <summary>The envelope opened, or null with the reason; <paramref name="park"/> is set when it may open later
    /// (its epoch or its sender's admission is not known here yet).</summary>
    public Envelope? Open(GroupState state, SealedEnvelope parsed, bool live, long nowMs, out RejectReason reason, out bool park) =>
        Open(state.Name, state.Log, epoch => keyring.TryGet(state.Name, epoch), selfPeerId, parsed,
            live ? epoch => nowMs - state.EpochEndSeenMs.GetValueOrDefault(epoch) : null, verified, out reason, out park);

    /// <summary>The same decision from what it reads alone (the group's log, its keys): what opens history off the
    /// loop (see <see cref="HistoryOpener"/>) passes snapshots. <paramref name="sinceEpochEnded"/> is set for live
    /// frames only: how long ago this peer heard that an epoch ended.</summary>
    public static Envelope? Open(string group, GroupLog log, Func<long, GroupKey?> keyOf, string selfPeerId, SealedEnvelope parsed,
        Func<long, long>? sinceEpochEnded, VerifiedBursts verified, out RejectReason reason, out bool park)
    {
        park = false;
        if (parsed.Version < EnvelopeCodec.KeyEpochVersion)
        {
            reason = RejectReason.Malformed;
            return null;
        }

        var key = parsed.Group == group ? keyOf(parsed.KeyEpoch) : null;
        if (key is null || parsed.LogHead > log.Head)
        {
            // Sealed under an epoch, or by a peer, that this peer's log has not caught up with: it may open later.
            park = parsed.KeyEpoch > log.CurrentEpoch.Number || parsed.LogHead > log.Head
                || (key is null && parsed.KeyEpoch <= log.Epochs.Count && log.Members.ContainsKey(selfPeerId));
            reason = RejectReason.NotSealedForGroup;
            return null;
        }

        if (!log.MaySeal(parsed.PeerId, parsed.SigningKey, parsed.KeyEpoch, parsed.LogHead, parsed.SentAtMs, parsed.Epoch, parsed.Seq))
        {
            reason = RejectReason.NotAMember;
            return null;
        }

        var epoch = log.Epochs[(int)parsed.KeyEpoch - 1];
        if (sinceEpochEnded is not null && epoch.EndIndex != long.MaxValue && sinceEpochEnded(epoch.Number) > InFlightGrace.TotalMilliseconds)
        {
            reason = RejectReason.StaleEpoch;
            return null;
        }

        return EnvelopeCodec.TryOpen(parsed, key, out _, out reason, verified, linkAuthenticated: sinceEpochEnded is not null);
    }
}
