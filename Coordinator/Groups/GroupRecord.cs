using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Coordinator.Groups;

/// <summary>A group's durable directory entry: written once, by whoever created the group.</summary>
/// <param name="CreatedAtUnixMs">When it was created.</param>
/// <param name="CreatedBy">The creator's name.</param>
/// <param name="Policy"><c>open</c> (any online member admits a joiner) or <c>private</c> (invites only).</param>
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

    public bool IsPrivate => Policy == Private;

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, CoordinatorJsonContext.Default.GroupRecord);

    /// <summary>Parses a record, or returns null for anything malformed.</summary>
    public static GroupRecord? TryParse(ReadOnlySpan<byte> value)
    {
        try
        {
            var record = JsonSerializer.Deserialize(value, CoordinatorJsonContext.Default.GroupRecord);
            return record is { Policy: Open or Private, KeyCheck.Length: > 0, CreatedBy: not null } ? record : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
