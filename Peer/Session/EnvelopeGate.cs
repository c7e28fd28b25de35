using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary>Decides whether a parsed envelope opens for a group: the key of the epoch it names, and the group log's
/// word that its sender was a member allowed to seal under that epoch at that log head.</summary>
/// <remarks>Everything in an envelope is untrusted until this says yes: a key epoch or log head beyond what this peer
/// knows may open later (it is parked, never taken on trust), and a sender the log does not hold is refused. Live and
/// from history the rule is one: a member that has not yet heard of an epoch's successor (its log head says so) may
/// still seal under it, and a departure's cut bounds what a departed member may have sealed. A live frame under an
/// ended epoch is taken as history would take it, so an honest sender cut from etcd through a key change costs
/// neither order nor its link; <see cref="StaleFor"/> tells the caller, so that the user hears of it.</remarks>
internal sealed class EnvelopeGate(string selfPeerId, EpochKeyring keyring, VerifiedBursts verified)
{
    /// <summary>How long after this peer heard that an epoch ended a live frame under it is taken without a word: it
    /// was on its way. Later, it is taken all the same, and the user is told that its sender has not read the new key.</summary>
    public static readonly TimeSpan InFlightGrace = TimeSpan.FromSeconds(5);

    /// <summary>The envelope opened, or null with the reason; <paramref name="park"/> is set when it may open later
    /// (its epoch or its sender's admission is not known here yet).</summary>
    public Envelope? Open(GroupState state, SealedEnvelope parsed, bool live, long nowMs, out RejectReason reason, out bool park)
    {
        var opened = Open(state.Name, state.Log, epoch => keyring.TryGet(state.Name, epoch), selfPeerId, parsed, live, verified, out reason, out park);
        StaleFor = opened is not null && live && state.Log.Epochs[(int)parsed.KeyEpoch - 1].EndIndex != long.MaxValue
            && nowMs - state.EpochEndSeenMs.GetValueOrDefault(parsed.KeyEpoch) > InFlightGrace.TotalMilliseconds
            ? parsed.KeyEpoch
            : null;
        return opened;
    }

    /// <summary>After <see cref="Open(GroupState, SealedEnvelope, bool, long, out RejectReason, out bool)"/>: the ended
    /// epoch a live frame was sealed under, when it ended longer than <see cref="InFlightGrace"/> ago (its sender has
    /// not read the new key); null otherwise.</summary>
    public long? StaleFor { get; private set; }

    /// <summary>The same decision from what it reads alone (the group's log, its keys): what opens history off the
    /// loop (see <see cref="HistoryOpener"/>) passes snapshots. <paramref name="live"/>: a frame from a member's link.</summary>
    public static Envelope? Open(string group, GroupLog log, Func<long, GroupKey?> keyOf, string selfPeerId, SealedEnvelope parsed,
        bool live, VerifiedBursts verified, out RejectReason reason, out bool park)
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

        return EnvelopeCodec.TryOpen(parsed, key, out _, out reason, verified, linkAuthenticated: live);
    }
}
