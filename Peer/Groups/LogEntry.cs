using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mesh.Peer.Configuration;
using Mesh.Peer.Identity;

namespace Mesh.Peer.Groups;

/// <summary>One signed change of a group's state, as it is stored at its index of the group log.</summary>
/// <remarks>
/// Stored as <c>{"b":BODY,"s":SIGNATURE}</c>, where BODY is the entry's JSON object as a string: the signature
/// covers those exact bytes, so nothing needs a canonical form, and anyone can still read the body. The entry's hash
/// (SHA-256 of BODY) is what the next entry names as its predecessor, and what a home pins.
/// </remarks>
public sealed record LogEntry
{
    /// <summary>The largest stored entry: a departure lists up to <see cref="MaxCutRuns"/> runs.</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>The most runs of the departing member a departure lists.</summary>
    public const int MaxCutRuns = 2_048;
    public const string Open = "open";
    public const string Private = "private";

    /// <summary>A conversation of two (<see cref="DirectName"/>): the genesis names both, no one else is ever added.</summary>
    public const string Direct = "direct";

    private static ReadOnlySpan<byte> Domain => "mesh-log/1\0"u8;

    /// <summary>The format: 2 (additions carry the joiner's consent) or 1. A genesis of version 2 holds its whole log
    /// to version 2's rules.</summary>
    public int Version { get; init; } = 2;

    public required string Group { get; init; }

    public required long Index { get; init; }

    /// <summary>The predecessor's hash (hex); empty for the genesis.</summary>
    public required string Previous { get; init; }

    public required long AtMs { get; init; }

    /// <summary>The author's peer id (the hash of <see cref="SigningKey"/>).</summary>
    public required string By { get; init; }

    public required byte[] SigningKey { get; init; }

    public required LogOp Op { get; init; }

    /// <summary>Genesis and policy: <c>open</c>, <c>private</c> or (genesis only) <c>direct</c>.</summary>
    public string? Policy { get; init; }

    /// <summary>Who the change is about: the added, removed, departing or promoted member; for genesis, the creator.</summary>
    public string? Peer { get; init; }

    public byte[]? PeerSigningKey { get; init; }

    /// <summary>The member's Curve public key (Z85), which links and key grants use.</summary>
    public string? PeerCurveKey { get; init; }

    public string? PeerName { get; init; }

    /// <summary>A direct conversation's genesis: the other member, its keys and name as the creator knew them from the
    /// signed log of a group both are in.</summary>
    public string? Partner { get; init; }

    public byte[]? PartnerSigningKey { get; init; }

    public string? PartnerCurveKey { get; init; }

    public string? PartnerName { get; init; }

    /// <summary>The invite an addition redeemed (private groups): each is used once.</summary>
    public string? Invite { get; init; }

    /// <summary>The key epoch this entry starts (genesis, remove, epoch); 0 otherwise.</summary>
    public long Epoch { get; init; }

    /// <summary>The new epoch key's check (see <see cref="Crypto.GroupKey.Check"/>).</summary>
    public string? KeyCheck { get; init; }

    /// <summary>A removal or leave (version 2): where the departing member's messages end, as the author saw them: each
    /// run it sent in, with the last sequence number of that run. Nothing of it beyond these is accepted afterwards,
    /// whatever its clock or stamps say; what it sent up to them is kept, whatever they say.</summary>
    public IReadOnlyList<(long Run, long Seq)>? Cut { get; init; }

    /// <summary>A new epoch (version 2): the hash of the peer ids its key was wrapped to (<see cref="GroupLog.RecipientsHash"/>),
    /// which must be every member that stays.</summary>
    public string? Recipients { get; init; }

    /// <summary>An addition: the newcomer's <see cref="JoinConsent"/>.</summary>
    public byte[]? Consent { get; init; }

    /// <summary>Genesis: how much history the group keeps (<see cref="Groups.Retention"/>'s text); none in groups
    /// created before retention, which keep everything.</summary>
    public string? Keep { get; init; }

    /// <summary>The signed bytes, as stored.</summary>
    public byte[] Body { get; private init; } = [];

    public byte[] Signature { get; private init; } = [];

    /// <summary>SHA-256 of <see cref="Body"/>, hex.</summary>
    public string Hash { get; private init; } = "";

    /// <summary>Signs the entry with <paramref name="author"/>'s key; returns the record to store.</summary>
    public byte[] Sign(PeerIdentity author)
    {
        var body = BodyOf(this with { By = author.PeerId, SigningKey = author.SigningPublicKey });
        var signature = author.Sign([.. Domain, .. body]);
        return Crypto.SignedRecord.Write(body, signature);
    }

    /// <summary>Parses and checks a stored entry: well formed, and signed by the key it names. Null otherwise; what the
    /// entry may do is for <see cref="GroupLog"/> to decide.</summary>
    public static LogEntry? TryParse(ReadOnlySpan<byte> record, out string error)
    {
        error = "not a signed log entry";
        if (record.Length is 0 or > MaxBytes)
        {
            error = $"{record.Length} bytes (a log entry is 1 to {MaxBytes})";
            return null;
        }

        if (!Crypto.SignedRecord.TryRead(record, MaxBytes, out var body, out var signature, out _))
        {
            return null;
        }

        try
        {
            var entry = ParseBody(body);
            if (entry is null)
            {
                error = "malformed body";
                return null;
            }

            if (PeerIdentity.DerivePeerId(entry.SigningKey) != entry.By || !PeerIdentity.Verify(entry.SigningKey, [.. Domain, .. body], signature))
            {
                error = "bad signature";
                return null;
            }

            error = "";
            return entry with { Body = body, Signature = signature, Hash = Convert.ToHexStringLower(SHA256.HashData(body)) };
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }

    private static byte[] BodyOf(LogEntry e)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", e.Version);
            w.WriteString("g", e.Group);
            w.WriteNumber("i", e.Index);
            w.WriteString("prev", e.Previous);
            w.WriteNumber("t", e.AtMs);
            w.WriteString("by", e.By);
            w.WriteBase64String("k", e.SigningKey);
            w.WriteString("op", e.Op.ToString().ToLowerInvariant());
            Optional(w, "policy", e.Policy);
            Optional(w, "peer", e.Peer);
            if (e.PeerSigningKey is not null)
            {
                w.WriteBase64String("peer_sign", e.PeerSigningKey);
            }

            Optional(w, "peer_curve", e.PeerCurveKey);
            Optional(w, "peer_name", e.PeerName);
            Optional(w, "invite", e.Invite);
            Optional(w, "with", e.Partner);
            if (e.PartnerSigningKey is not null)
            {
                w.WriteBase64String("with_sign", e.PartnerSigningKey);
            }

            Optional(w, "with_curve", e.PartnerCurveKey);
            Optional(w, "with_name", e.PartnerName);
            if (e.Epoch > 0)
            {
                w.WriteNumber("epoch", e.Epoch);
            }

            Optional(w, "check", e.KeyCheck);
            Optional(w, "keep", e.Keep);
            Optional(w, "to", e.Recipients);
            if (e.Consent is not null)
            {
                w.WriteBase64String("consent", e.Consent);
            }

            if (e.Cut is not null)
            {
                w.WriteString("cut", string.Join(',', e.Cut.Select(c => FormattableString.Invariant($"{c.Run}:{c.Seq}"))));
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void Optional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static LogEntry? ParseBody(byte[] body)
    {
        using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 1 });
        var r = doc.RootElement;
        if (r.ValueKind != JsonValueKind.Object || Number(r, "v") is not (1 or 2) || Number(r, "v") is not { } version)
        {
            return null;
        }

        var group = Text(r, "g");
        var by = Text(r, "by");
        var key = Bytes(r, "k");
        var previous = Text(r, "prev");
        if (!Naming.IsValidGroup(group) || by is not { Length: PeerIdentity.PeerIdLength } || key is not { Length: 32 } || previous is null
            || Number(r, "i") is not { } index || index < 0 || Number(r, "t") is not { } at
            || !Enum.TryParse<LogOp>(Text(r, "op"), ignoreCase: true, out var op) || !Enum.IsDefined(op) || Text(r, "op") is not { } opText
            || opText != op.ToString().ToLowerInvariant())
        {
            return null;
        }

        var entry = new LogEntry
        {
            Version = (int)version,
            Group = group!,
            Index = index,
            Previous = previous,
            AtMs = at,
            By = by,
            SigningKey = key,
            Op = op,
            Policy = Text(r, "policy"),
            Peer = Text(r, "peer"),
            PeerSigningKey = Bytes(r, "peer_sign"),
            PeerCurveKey = Text(r, "peer_curve"),
            PeerName = Text(r, "peer_name"),
            Invite = Text(r, "invite"),
            Partner = Text(r, "with"),
            PartnerSigningKey = Bytes(r, "with_sign"),
            PartnerCurveKey = Text(r, "with_curve"),
            PartnerName = Text(r, "with_name"),
            Epoch = Number(r, "epoch") ?? 0,
            KeyCheck = Text(r, "check"),
            Keep = Text(r, "keep"),
            Consent = Bytes(r, "consent"),
            Recipients = Text(r, "to"),
        };
        if (Text(r, "cut") is { } cut)
        {
            if (ParseCut(cut) is not { } runs)
            {
                return null;
            }

            entry = entry with { Cut = runs };
        }

        var partnerOk = entry.Partner is null && entry.PartnerSigningKey is null && entry.PartnerCurveKey is null && entry.PartnerName is null
            || entry.Op == LogOp.Genesis && entry.Policy == Direct && entry.Partner is { Length: PeerIdentity.PeerIdLength }
            && entry.PartnerSigningKey is { Length: 32 } && entry.PartnerCurveKey is { Length: 40 } && Naming.IsValidName(entry.PartnerName);
        return partnerOk && entry.Policy is null or Open or Private or Direct && (entry.PeerName is null || Naming.IsValidName(entry.PeerName))
            && (entry.PeerCurveKey is null || entry.PeerCurveKey.Length == 40) && (entry.PeerSigningKey is null || entry.PeerSigningKey.Length == 32)
            && (entry.Peer is null || entry.Peer.Length == PeerIdentity.PeerIdLength) && entry.Epoch >= 0
            && (entry.Keep is null || entry.Op == LogOp.Genesis && Groups.Retention.TryParse(entry.Keep, out _) is not null)
            ? entry
            : null;
    }

    /// <summary>A cut as stored: <c>run:seq</c> pairs, runs rising, all positive; null when it is not one.</summary>
    private static List<(long Run, long Seq)>? ParseCut(string text)
    {
        var runs = new List<(long, long)>();
        if (text.Length == 0)
        {
            return runs;
        }

        var last = 0L;
        foreach (var part in text.Split(','))
        {
            var colon = part.IndexOf(':');
            if (colon < 1 || runs.Count >= MaxCutRuns
                || !long.TryParse(part.AsSpan(0, colon), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var run)
                || !long.TryParse(part.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seq)
                || run <= last || seq < 1)
            {
                return null;
            }

            runs.Add((run, seq));
            last = run;
        }

        return runs;
    }

    private static string? Text(JsonElement r, string name) =>
        r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long? Number(JsonElement r, string name) =>
        r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;

    private static byte[]? Bytes(JsonElement r, string name) =>
        r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.TryGetBytesFromBase64(out var b) ? b : null;
}
