using Mesh.Coordinator;
using Mesh.Peer.Crypto;
using Mesh.Peer.Identity;
using NetMQ;

namespace Mesh.Peer.Groups;

/// <summary>Builds the changes a member commits to a group log, each with the key grants it writes alongside, in the
/// same transaction: an addition hands the newcomer every epoch's key (so it reads the whole history); a new epoch (a
/// rotation, or a removal) wraps a fresh key to each remaining member and to no one else.</summary>
public static class GroupCommits
{
    /// <summary>A signed entry, the grants to write with it, and the new epoch key if it starts one; more entries
    /// chained after it (<paramref name="Following"/>) go in the same transaction.</summary>
    public sealed record Commit(long Index, byte[] Record, IReadOnlyList<(string Key, byte[] Value)> Grants, GroupKey? NewKey)
    {
        public IReadOnlyList<(long Index, byte[] Record)> Following { get; init; } = [];

        /// <summary>Every entry of the commit, in index order.</summary>
        public IEnumerable<(long Index, byte[] Record)> Entries => Following.Prepend((Index, Record));
    }

    public static Commit Genesis(string group, string policy, PeerIdentity creator, string name, long nowMs, Retention? keep = null)
    {
        var key = GroupKey.Create();
        return new Commit(0, GenesisEntry(group, policy, creator, name, nowMs, key, keep).Sign(creator), [], key);
    }

    /// <summary>A genesis entry, not signed yet: the creator as first member, epoch 1 under <paramref name="key"/>.</summary>
    private static LogEntry GenesisEntry(string group, string policy, PeerIdentity creator, string name, long nowMs, GroupKey key, Retention? keep) => new()
    {
        Group = group,
        Index = 0,
        Previous = "",
        AtMs = nowMs,
        By = creator.PeerId,
        SigningKey = creator.SigningPublicKey,
        Op = LogOp.Genesis,
        Policy = policy,
        Peer = creator.PeerId,
        PeerCurveKey = creator.PublicKeyZ85,
        PeerName = name,
        Epoch = 1,
        KeyCheck = key.Check(group, 1),
        Keep = (keep ?? Retention.Default).ToString(),
    };

    /// <summary>The genesis of the direct conversation of <paramref name="creator"/> and <paramref name="partner"/> (its keys
    /// as a log both are in pinned them), with, in the same transaction, the first epoch's key wrapped to the partner and
    /// a notice for each of the two (<see cref="DirectNotice"/>): the partner learns of it, and both find it again
    /// after a restart.</summary>
    public static Commit Direct(PeerIdentity creator, string name, LogMember partner, long nowMs, Retention? keep = null)
    {
        var group = DirectName.Of(creator.PeerId, partner.PeerId);
        var key = GroupKey.Create();
        var entry = GenesisEntry(group, LogEntry.Direct, creator, name, nowMs, key, keep) with
        {
            Partner = partner.PeerId,
            PartnerSigningKey = partner.SigningKey,
            PartnerCurveKey = partner.CurveKey,
            PartnerName = partner.Name,
        };
        var record = entry.Sign(creator);
        (string, byte[])[] alongside =
        [
            (MeshKeys.Grant(group, partner.PeerId, 1), KeyGrant.Create(key, group, 1, partner.PeerId, CurveKey(partner.CurveKey), creator)),
            (MeshKeys.DirectNotice(partner.PeerId, group), record),
            (MeshKeys.DirectNotice(creator.PeerId, group), record),
        ];
        return new Commit(0, record, alongside, key);
    }

    public static Commit Add(GroupLog log, PeerIdentity author, Newcomer joiner, IReadOnlyDictionary<long, GroupKey> keys, long nowMs)
    {
        var newcomer = joiner.Member;
        var entry = log.Next(author, LogOp.Add, nowMs) with
        {
            Peer = newcomer.PeerId,
            PeerSigningKey = newcomer.SigningKey,
            PeerCurveKey = newcomer.CurveKey,
            PeerName = newcomer.Name,
            Invite = joiner.Invite,
            Consent = joiner.Consent,
        };
        var curve = CurveKey(newcomer.CurveKey);
        var grants = keys.Where(k => k.Key <= log.CurrentEpoch.Number)
            .Select(k => (MeshKeys.Grant(log.Group, newcomer.PeerId, k.Key), KeyGrant.Create(k.Value, log.Group, k.Key, newcomer.PeerId, curve, author)))
            .ToList();
        return new Commit(entry.Index, entry.Sign(author), grants, null);
    }

    /// <summary>Adds several newcomers in one commit: one entry each, chained, with every epoch's key granted to each;
    /// as many as fit in one etcd transaction (<paramref name="budget"/> operations), at least one.</summary>
    public static Commit? AddAll(GroupLog log, PeerIdentity author, IReadOnlyList<Newcomer> newcomers,
        IReadOnlyDictionary<long, GroupKey> keys, long nowMs, int budget)
    {
        if (newcomers.Count == 0)
        {
            return null;
        }

        var first = Add(log, author, newcomers[0], keys, nowMs);
        var grants = first.Grants.ToList();
        var following = new List<(long, byte[])>();
        var template = log.Next(author, LogOp.Add, nowMs);
        var (index, previous) = (first.Index, LogEntry.TryParse(first.Record, out _)!.Hash);
        foreach (var joiner in newcomers.Skip(1))
        {
            var newcomer = joiner.Member;
            var more = Add(log, author, joiner, keys, nowMs).Grants;
            if (1 + following.Count + 1 + grants.Count + more.Count > budget || newcomers.Take(following.Count + 1).Any(n => n.Member.PeerId == newcomer.PeerId))
            {
                break;
            }

            var record = (template with
            {
                Index = index + 1,
                Previous = previous,
                Peer = newcomer.PeerId,
                PeerSigningKey = newcomer.SigningKey,
                PeerCurveKey = newcomer.CurveKey,
                PeerName = newcomer.Name,
                Invite = joiner.Invite,
                Consent = joiner.Consent,
            }).Sign(author);
            (index, previous) = (index + 1, LogEntry.TryParse(record, out _)!.Hash);
            following.Add((index, record));
            grants.AddRange(more);
        }

        return first with { Grants = grants, Following = following };
    }

    /// <summary>A new epoch, for every current member but <paramref name="removed"/> (a removal when it is given, cutting
    /// the removed member's stream at <paramref name="cut"/>).</summary>
    public static Commit Rotate(GroupLog log, PeerIdentity author, string? removed, long nowMs, IReadOnlyList<(long Run, long Seq)>? cut = null)
    {
        var key = GroupKey.Create();
        var epoch = log.CurrentEpoch.Number + 1;
        var entry = log.Next(author, removed is null ? LogOp.Epoch : LogOp.Remove, nowMs) with
        {
            Peer = removed,
            Cut = removed is null ? null : cut ?? [],
            Epoch = epoch,
            KeyCheck = key.Check(log.Group, epoch),
        };
        var staying = log.Members.Values.Where(m => m.PeerId != removed).ToList();
        entry = entry with { Recipients = GroupLog.RecipientsHash(staying.Select(m => m.PeerId)) };
        var grants = staying
            .Select(m => (MeshKeys.Grant(log.Group, m.PeerId, epoch), KeyGrant.Create(key, log.Group, epoch, m.PeerId, CurveKey(m.CurveKey), author)))
            .ToList();
        return new Commit(entry.Index, entry.Sign(author), grants, key);
    }

    /// <summary>Leaving, with where this member's messages end (<paramref name="cut"/>: each of its runs' last number).</summary>
    /// <summary>A grant of an epoch's key to a member that asked for it again (<see cref="KeyRequest"/>).</summary>
    public static (string Key, byte[] Value) Regrant(GroupLog log, PeerIdentity author, LogMember to, long epoch, GroupKey key) =>
        (MeshKeys.Grant(log.Group, to.PeerId, epoch), KeyGrant.Create(key, log.Group, epoch, to.PeerId, CurveKey(to.CurveKey), author));

    public static Commit Leave(GroupLog log, PeerIdentity author, long nowMs, IReadOnlyList<(long Run, long Seq)>? cut = null)
    {
        var entry = log.Next(author, LogOp.Leave, nowMs) with { Peer = author.PeerId, Cut = cut ?? [] };
        return new Commit(entry.Index, entry.Sign(author), [], null);
    }

    public static Commit Admin(GroupLog log, PeerIdentity author, string peerId, long nowMs)
    {
        var entry = log.Next(author, LogOp.Admin, nowMs) with { Peer = peerId };
        return new Commit(entry.Index, entry.Sign(author), [], null);
    }

    /// <summary>Checks a grant meant for this peer against the log: signed by a peer that is or was a member (with the
    /// key the log pinned), for a known epoch, and holding the key whose check that epoch committed. The key, or null
    /// with the reason.</summary>
    public static GroupKey? Accept(GroupLog log, KeyGrant grant, PeerIdentity self, out string error)
    {
        error = "";
        if (grant.Group != log.Group || grant.To != self.PeerId)
        {
            error = "not for this peer and group";
            return null;
        }

        if (log.SigningKeyOf(grant.By) is not { } signer || !signer.AsSpan().SequenceEqual(grant.SigningKey))
        {
            error = "not signed by a member";
            return null;
        }

        if (grant.Epoch > log.Epochs.Count)
        {
            error = "for an epoch the log does not have yet";
            return null;
        }

        var key = grant.TryOpen(self.PeerId, self.Certificate.SecretKey!, self.Certificate.PublicKey);
        if (key is null || key.Check(log.Group, grant.Epoch) != log.Epochs[(int)grant.Epoch - 1].KeyCheck)
        {
            error = "does not hold the key the group log committed for that epoch";
            return null;
        }

        return key;
    }

    private static byte[] CurveKey(string z85) => NetMQCertificate.FromPublicKey(z85).PublicKey;
}
