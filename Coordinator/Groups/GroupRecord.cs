using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Coordinator.Groups;

/// <summary>A group's durable directory entry: written once, by whoever created the group.</summary>
/// <param name="CreatedAtUnixMs">When it was created.</param>
/// <param name="CreatedBy">The creator's name.</param>
/// <param name="Policy"><c>open</c> (any online member admits a joiner), <c>private</c> (invites only) or <c>direct</c>
/// (a conversation of two).</param>
/// <param name="KeyCheck">HMAC of the group's key under itself: tells a key offered to a joiner is the group's,
/// without revealing it.</param>
public sealed record GroupRecord(
    [property: JsonPropertyName("created_at")] long CreatedAtUnixMs,
    [property: JsonPropertyName("created_by")] string CreatedBy,
    [property: JsonPropertyName("policy")] string Policy,
    [property: JsonPropertyName("key_check")] string KeyCheck)
{
    public const string Open = "open";
    public const string Private = "private";

    /// <summary>A direct conversation of two (only ever in a signed genesis).</summary>
    public const string Direct = "direct";

    public bool IsPrivate => Policy == Private;

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, CoordinatorJsonContext.Default.GroupRecord);

    /// <summary>Whether a directory entry is of the format before signed group logs (a bare record, not
    /// <c>{"b":…,"s":…}</c>): such a group cannot be joined safely.</summary>
    public static bool IsUnsignedFormat(ReadOnlySpan<byte> value)
    {
        try
        {
            using var doc = JsonDocument.Parse(value.ToArray(), new JsonDocumentOptions { MaxDepth = 2 });
            return doc.RootElement.ValueKind == JsonValueKind.Object && !doc.RootElement.TryGetProperty("b", out _) && TryParse(value) is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Reads what a directory entry says of itself, for display only (mesh monitor, mesh groups): the entry
    /// is a signed genesis (<c>{"b":BODY,"s":SIG}</c>) and peers check it; this does not. Null for anything malformed.</summary>
    public static GroupRecord? TryParse(ReadOnlySpan<byte> value)
    {
        try
        {
            using (var doc = JsonDocument.Parse(value.ToArray(), new JsonDocumentOptions { MaxDepth = 2 }))
            {
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("b", out var b) && b.ValueKind == JsonValueKind.String)
                {
                    using var body = JsonDocument.Parse(b.GetString()!, new JsonDocumentOptions { MaxDepth = 1 });
                    var r = body.RootElement;
                    return r.ValueKind == JsonValueKind.Object && r.TryGetProperty("policy", out var p) && p.GetString() is Open or Private or Direct
                        && r.TryGetProperty("t", out var t) && t.TryGetInt64(out var at) && r.TryGetProperty("peer_name", out var n) && n.GetString() is { } name
                        && r.TryGetProperty("check", out var c) && c.GetString() is { Length: > 0 } check
                        ? new GroupRecord(at, name, p.GetString()!, check)
                        : null;
                }
            }

            var record = JsonSerializer.Deserialize(value, CoordinatorJsonContext.Default.GroupRecord);
            return record is { Policy: Open or Private, KeyCheck.Length: > 0, CreatedBy: not null } ? record : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}
