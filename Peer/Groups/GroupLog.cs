using Mesh.Peer.Identity;

namespace Mesh.Peer.Groups;

/// <summary>A group's state as its signed, hash-chained log makes it: policy, members, rights and key epochs.</summary>
/// <remarks>
/// Each entry must name the previous entry's hash, sit at the next index, be signed by a member the state allows to
/// make that change, and be a change that makes sense (no adding a member twice, epochs one after another). The
/// state is only ever built by applying entries, so nothing unsigned (an etcd record, a directory field) can change
/// who is a member, what the policy is, or which key is the group's.
/// </remarks>
public sealed class GroupLog
{
    private readonly Dictionary<string, LogMember> _members = new(StringComparer.Ordinal);

    /// <summary>Every peer that was ever a member, with the log intervals [added, gone) of its memberships.</summary>
    private readonly Dictionary<string, List<Span>> _spans = new(StringComparer.Ordinal);
    private readonly List<KeyEpoch> _epochs = [];
    private readonly List<string> _hashes = [];
    private readonly List<byte[]> _records = [];
    private readonly HashSet<string> _invites = new(StringComparer.Ordinal);
    private readonly HashSet<string> _removed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _pinnedNames = new(StringComparer.Ordinal);
    private Dictionary<string, int>? _nameCounts;

    private GroupLog(LogEntry genesis, byte[] record)
    {
        Group = genesis.Group;
        Genesis = genesis;
        Policy = genesis.Policy!;
        Retention = genesis.Keep is null ? Retention.All : Retention.TryParse(genesis.Keep, out _)!.Value;
        Creator = genesis.By;
        var creator = new LogMember(genesis.By, genesis.SigningKey, genesis.PeerCurveKey!, genesis.PeerName!, Admin: true);
        _members[creator.PeerId] = creator;
        _pinnedNames[creator.PeerId] = creator.Name;
        _spans[creator.PeerId] = [new Span(0, genesis.SigningKey) { AdminFrom = 0 }];
        if (genesis.Policy == LogEntry.Direct)
        {
            // The other member is a member from the start: its keys were pinned by the creator from a log both are in.
            var partner = new LogMember(genesis.Partner!, genesis.PartnerSigningKey!, genesis.PartnerCurveKey!, genesis.PartnerName!, Admin: false);
            _members[partner.PeerId] = partner;
            _pinnedNames[partner.PeerId] = partner.Name;
            _spans[partner.PeerId] = [new Span(0, partner.SigningKey)];
        }

        _epochs.Add(new KeyEpoch(1, genesis.KeyCheck!, 0));
        _hashes.Add(genesis.Hash);
        _records.Add(record);
        HeadAtMs = genesis.AtMs;
    }

    public string Group { get; }

    public LogEntry Genesis { get; }

    public string GenesisHash => _hashes[0];

    public string Policy { get; private set; }

    public bool IsPrivate => Policy == LogEntry.Private;

    /// <summary>A conversation of two, named by its genesis: no invites, no admissions, never a third member.</summary>
    public bool IsDirect => Policy == LogEntry.Direct;

    /// <summary>In a direct conversation, the member that is not <paramref name="peerId"/>; null otherwise.</summary>
    public LogMember? PartnerOf(string peerId)
    {
        if (!IsDirect || peerId != Creator && peerId != Genesis.Partner)
        {
            return null;
        }

        var other = peerId == Creator ? Genesis.Partner! : Creator;
        return _members.GetValueOrDefault(other)
            ?? new LogMember(other, SigningKeyOf(other)!, peerId == Creator ? Genesis.PartnerCurveKey! : Genesis.PeerCurveKey!, NameOf(other)!, Admin: false);
    }

    /// <summary>How much history the group keeps, as its creator signed it (everything for groups created before
    /// retention).</summary>
    public Retention Retention { get; }

    public string Creator { get; }

    /// <summary>The index of the last entry applied.</summary>
    public long Head => _hashes.Count - 1;

    public string HeadHash => _hashes[^1];

    public long HeadAtMs { get; private set; }

    public IReadOnlyDictionary<string, LogMember> Members => _members;

    public KeyEpoch CurrentEpoch => _epochs[^1];

    public IReadOnlyList<KeyEpoch> Epochs => _epochs;

    /// <summary>A member left and no new epoch followed yet: one who stays should commit one.</summary>
    public bool RotationNeeded { get; private set; }

    /// <summary>The stored record of entry <paramref name="index"/> (to repair etcd's copy).</summary>
    public byte[] RecordAt(long index) => _records[(int)index];

    public string HashAt(long index) => _hashes[(int)index];

    public bool WasRemoved(string peerId) => _removed.Contains(peerId);

    /// <summary>Whether the log holds additions to version 2's rule: each carries the newcomer's own consent. Groups
    /// created before it keep the rule they were made with (their genesis is signed, so no one can lower it).</summary>
    public bool RequiresConsent => Genesis.Version >= 2;

    /// <summary>Whether an addition of <paramref name="newcomer"/> would carry the consent this log asks for.</summary>
    public bool AcceptsConsentOf(Newcomer newcomer) =>
        !RequiresConsent || newcomer.Consent is { } consent && JoinConsent.IsValid(consent, Group, GenesisHash, newcomer.Member.PeerId,
            newcomer.Member.SigningKey, newcomer.Member.CurveKey, newcomer.Member.Name);

    public bool InviteUsed(string inviteId) => _invites.Contains(inviteId);

    /// <summary>Starts a log from its genesis record; null, with the reason, when it is not a valid genesis of
    /// <paramref name="group"/>.</summary>
    public static GroupLog? TryStart(string group, byte[] record, out string error)
    {
        var genesis = LogEntry.TryParse(record, out error);
        if (genesis is null)
        {
            return null;
        }

        if (genesis.Op != LogOp.Genesis || genesis.Group != group || genesis.Index != 0 || genesis.Previous != ""
            || genesis.Policy is null || genesis.Peer != genesis.By || genesis.PeerCurveKey is null || genesis.PeerName is null
            || genesis.Epoch != 1 || string.IsNullOrEmpty(genesis.KeyCheck))
        {
            error = "not a genesis of this group";
            return null;
        }

        if (genesis.Policy == LogEntry.Direct && (genesis.Partner is null || genesis.Partner == genesis.By
            || PeerIdentity.DerivePeerId(genesis.PartnerSigningKey!) != genesis.Partner || DirectName.Of(genesis.By, genesis.Partner) != group))
        {
            error = "not a direct conversation of the two peers it names";
            return null;
        }

        return new GroupLog(genesis, record);
    }

    /// <summary>How far ahead of a peer's clock an entry may be stamped before the peer says so.</summary>
    /// <remarks>Said, not refused: a rule that depended on each member's clock would split members whose clocks differ
    /// (a member ten days behind would refuse every entry the others apply). No decision rests on an entry's time in a
    /// version 2 log: departures end at a cut in the member's stream, not at a time.</remarks>
    public static readonly TimeSpan MaxAhead = TimeSpan.FromMinutes(10);

    /// <summary>Applies the next entry; false, with the reason, when the chain does not allow it (the state is then
    /// unchanged).</summary>
    public bool TryApply(byte[] record, out string error)
    {
        var entry = LogEntry.TryParse(record, out error);
        if (entry is null)
        {
            return false;
        }

        error = Check(entry);
        if (error.Length == 0 && entry.AtMs < HeadAtMs)
        {
            error = "stamped before the entry it follows";
        }

        if (error.Length > 0)
        {
            return false;
        }

        Apply(entry);
        _hashes.Add(entry.Hash);
        _records.Add(record);
        HeadAtMs = entry.AtMs;
        return true;
    }

    /// <summary>This log as it stood after entry <paramref name="upTo"/> (entries already checked are applied again as
    /// they are: no clock).</summary>
    public GroupLog PrefixUpTo(long upTo)
    {
        var prefix = TryStart(Group, _records[0], out var error) ?? throw new InvalidOperationException($"the log's own genesis: {error}");
        for (var i = 1; i <= upTo; i++)
        {
            if (!prefix.TryApply(_records[i], out error))
            {
                throw new InvalidOperationException($"the log's own entry {i}: {error}");
            }
        }

        return prefix;
    }

    /// <summary>The next entry this log would accept from <paramref name="author"/>, not yet signed.</summary>
    public LogEntry Next(PeerIdentity author, LogOp op, long nowMs) => new()
    {
        Group = Group,
        Index = Head + 1,
        Previous = HeadHash,
        AtMs = Math.Max(nowMs, HeadAtMs),
        By = author.PeerId,
        SigningKey = author.SigningPublicKey,
        Op = op,
    };

    /// <summary>Whether <paramref name="peerId"/>, signing with <paramref name="signingKey"/>, may have sealed message
    /// <paramref name="seq"/> of its run <paramref name="run"/> under <paramref name="epoch"/> having seen the log up to
    /// <paramref name="logHead"/>: it was a member while the epoch was current, does not claim to know the epoch's
    /// successor, and, if it has gone since, the message lies within where its departure cut its stream (or, for a
    /// departure recorded before cuts, was sent before the departure).</summary>
    /// <summary>Whether <paramref name="peerId"/> moderated the group (deletes others' messages) with the log at
    /// <paramref name="logHead"/>, the index its sender had applied when it sealed the message: the creator, or a
    /// member made admin at or before it and not gone by then. Every reader decides alike, whatever the log says since.
    /// No one moderates a direct conversation: each of the two deletes only its own messages.</summary>
    public bool MayModerateAt(string peerId, long logHead) =>
        !IsDirect && (peerId == Creator || _spans.TryGetValue(peerId, out var spans) && spans.Any(s => s.AdminFrom is { } from && from <= logHead && logHead < s.To));

    public bool MaySeal(string peerId, ReadOnlySpan<byte> signingKey, long epoch, long logHead, long sentAtMs, long run, long seq)
    {
        if (epoch < 1 || epoch > _epochs.Count || !_spans.TryGetValue(peerId, out var spans))
        {
            return false;
        }

        var e = _epochs[(int)epoch - 1];
        if (logHead >= e.EndIndex)
        {
            return false;
        }

        foreach (var span in spans)
        {
            if (span.From < e.EndIndex && span.To > e.StartIndex && span.From <= logHead && signingKey.SequenceEqual(span.SigningKey) && span.Holds(run, seq, sentAtMs))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Where a departure of <paramref name="peerId"/> would cut its stream, from the last sequence number of each
    /// run seen of it: runs in order, at most <see cref="LogEntry.MaxCutRuns"/> (the latest).</summary>
    public static IReadOnlyList<(long Run, long Seq)> CutOf(IEnumerable<(long Run, long Seq)> seen) =>
        seen.GroupBy(s => s.Run).Select(g => (Run: g.Key, Seq: g.Max(s => s.Seq))).Where(s => s.Run > 0 && s.Seq > 0)
            .OrderBy(s => s.Run).TakeLast(LogEntry.MaxCutRuns).ToList();

    /// <summary>The log's signing key for a peer that is or was a member; null for a stranger.</summary>
    public byte[]? SigningKeyOf(string peerId) =>
        _spans.TryGetValue(peerId, out var spans) ? spans[^1].SigningKey : null;

    /// <summary>One membership of a peer: from its addition to its departure (open while it lasts), with the key it was
    /// added with, and where its departure cut its stream (null while a member, or for departures recorded before cuts).</summary>
    private sealed record Span(long From, byte[] SigningKey)
    {
        public long To { get; init; } = long.MaxValue;

        public long ToAtMs { get; init; } = long.MaxValue;

        public Dictionary<long, long>? Cut { get; init; }

        /// <summary>The log index from which this membership was an admin's (the creator's from 0), if ever.</summary>
        public long? AdminFrom { get; init; }

        public bool Holds(long run, long seq, long sentAtMs) =>
            To == long.MaxValue || (Cut is null ? sentAtMs <= ToAtMs : Cut.TryGetValue(run, out var last) && seq <= last);
    }

    /// <summary>How many peers were ever added with <paramref name="name"/>, departed ones included: a newcomer taking a
    /// departed member's name is told apart from it (kept until the log changes: every message shown asks).</summary>
    public int PeersNamed(string name)
    {
        _nameCounts ??= _pinnedNames.Values.GroupBy(n => n, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return _nameCounts.GetValueOrDefault(name);
    }

    /// <summary>The name the log pinned for a peer that is or was a member (at its latest addition); null for a stranger.</summary>
    public string? NameOf(string peerId) => _pinnedNames.GetValueOrDefault(peerId);

    private string Check(LogEntry e)
    {
        if (e.Group != Group)
        {
            return "entry of another group";
        }

        if (e.Index != Head + 1)
        {
            return $"entry says index {e.Index}, expected {Head + 1} (replayed or reordered)";
        }

        if (e.Previous != HeadHash)
        {
            return "entry does not follow the previous one (rewritten chain)";
        }

        if (!_members.TryGetValue(e.By, out var author) || !author.SigningKey.AsSpan().SequenceEqual(e.SigningKey))
        {
            return "signed by a peer that is not a member";
        }

        if (IsDirect && e.Op is LogOp.Add or LogOp.Remove or LogOp.Admin or LogOp.Policy)
        {
            return "a direct conversation is of its two members only: no one is added, removed or promoted, its policy stays";
        }

        var target = e.Peer is null ? null : _members.GetValueOrDefault(e.Peer);
        switch (e.Op)
        {
            case LogOp.Add:
                if (e.Peer is null || e.PeerSigningKey is null || e.PeerCurveKey is null || e.PeerName is null
                    || PeerIdentity.DerivePeerId(e.PeerSigningKey) != e.Peer)
                {
                    return "an addition must name the peer and its keys";
                }

                if (target is not null)
                {
                    return "adds a peer that is already a member";
                }

                if (RequiresConsent && (e.Consent is null
                    || !JoinConsent.IsValid(e.Consent, Group, GenesisHash, e.Peer, e.PeerSigningKey, e.PeerCurveKey, e.PeerName)))
                {
                    return "an addition without the newcomer's own consent (its signature over the group, its keys and name)";
                }

                if (IsPrivate && (e.Invite is null || _invites.Contains(e.Invite)))
                {
                    return "a private group admits only with an unused invite";
                }

                return "";
            case LogOp.Remove:
                if (e.By != Creator && !author.Admin)
                {
                    return "only the creator or an admin may remove a member";
                }

                if (target is null || e.Peer == Creator)
                {
                    return "removes a peer that is not a member (or the creator)";
                }

                if (RequiresConsent && e.Cut is null)
                {
                    return "a departure must say where the member's messages end";
                }

                return NewEpoch(e);
            case LogOp.Leave:
                return e.Peer != e.By ? "a member can only leave by itself" : RequiresConsent && e.Cut is null ? "a departure must say where the member's messages end" : "";
            case LogOp.Epoch:
                return NewEpoch(e);
            case LogOp.Admin:
                return e.By != Creator ? "only the creator may grant rights" : target is null ? "grants rights to a non-member" : "";
            case LogOp.Policy:
                return e.By != Creator ? "only the creator may change the policy" : e.Policy is null or LogEntry.Direct ? "policy missing (or direct, which only a genesis sets)" : "";
            default:
                return "a second genesis";
        }
    }

    private string NewEpoch(LogEntry e)
    {
        if (e.Epoch != CurrentEpoch.Number + 1 || string.IsNullOrEmpty(e.KeyCheck))
        {
            return $"epoch {e.Epoch} does not follow {CurrentEpoch.Number}";
        }

        var staying = _members.Keys.Where(p => e.Op != LogOp.Remove || p != e.Peer);
        return RequiresConsent && e.Recipients != RecipientsHash(staying)
            ? "a new epoch whose key was not wrapped to every member that stays"
            : "";
    }

    /// <summary>What a new epoch commits to as its key's recipients: SHA-256 (hex) of their peer ids, sorted, one a line.</summary>
    public static string RecipientsHash(IEnumerable<string> peerIds) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(string.Join('\n', peerIds.Order(StringComparer.Ordinal)))));

    private void Apply(LogEntry e)
    {
        _nameCounts = null;
        switch (e.Op)
        {
            case LogOp.Add:
                _members[e.Peer!] = new LogMember(e.Peer!, e.PeerSigningKey!, e.PeerCurveKey!, e.PeerName!, Admin: false);
                _pinnedNames[e.Peer!] = e.PeerName!;
                if (!_spans.TryGetValue(e.Peer!, out var spans))
                {
                    _spans[e.Peer!] = spans = [];
                }

                spans.Add(new Span(e.Index, e.PeerSigningKey!));
                _removed.Remove(e.Peer!);
                if (e.Invite is not null)
                {
                    _invites.Add(e.Invite);
                }

                break;
            case LogOp.Remove:
                Depart(e);
                _removed.Add(e.Peer!);
                StartEpoch(e);
                break;
            case LogOp.Leave:
                Depart(e);
                RotationNeeded = _members.Count > 0;
                break;
            case LogOp.Epoch:
                StartEpoch(e);
                break;
            case LogOp.Admin:
                _members[e.Peer!] = _members[e.Peer!] with { Admin = true };
                _spans[e.Peer!][^1] = _spans[e.Peer!][^1] with { AdminFrom = e.Index };
                break;
            case LogOp.Policy:
                Policy = e.Policy!;
                break;
        }
    }

    private void Depart(LogEntry e)
    {
        _members.Remove(e.Peer!);
        var spans = _spans[e.Peer!];
        spans[^1] = spans[^1] with { To = e.Index, ToAtMs = e.AtMs, Cut = e.Cut?.ToDictionary(c => c.Run, c => c.Seq) };
    }

    private void StartEpoch(LogEntry e)
    {
        _epochs[^1] = _epochs[^1] with { EndIndex = e.Index, EndAtMs = e.AtMs };
        _epochs.Add(new KeyEpoch(e.Epoch, e.KeyCheck!, e.Index));
        RotationNeeded = false;
    }
}
