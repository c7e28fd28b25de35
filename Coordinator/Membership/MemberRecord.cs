using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Coordinator.Membership;

/// <summary>What etcd holds about an online peer: who it is, its keys (Curve for links, Ed25519 signing, base64)
/// and where it publishes.</summary>
public sealed record MemberRecord(
    [property: JsonPropertyName("peer")] string PeerId,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("key")] string PublicKeyZ85,
    [property: JsonPropertyName("sign")] string SigningKey,
    [property: JsonPropertyName("endpoint")] string Endpoint,
    [property: JsonPropertyName("since")] long SinceUnixMs)
{
    /// <summary>The group the record is for (empty for a peer's own presence record); signed with the rest.</summary>
    [JsonPropertyName("g")]
    public string Group { get; init; } = "";

    /// <summary>The peer's Ed25519 signature over the record (base64); peers ignore records without a valid one.</summary>
    [JsonPropertyName("sig")]
    public string? Signature { get; init; }

    /// <summary>The peer's consent to be added to the group (its own signature over the group's genesis, its peer id,
    /// keys and name, base64): a member who adds it copies this into the log. Signed on its own.</summary>
    [JsonPropertyName("join")]
    public string? Consent { get; init; }

    /// <summary>What the signature covers: every field, in a fixed order.</summary>
    public byte[] SignedBytes() => System.Text.Encoding.UTF8.GetBytes(string.Join('\n',
        "mesh-member/1", Group, PeerId, Name, PublicKeyZ85, SigningKey, Endpoint,
        SinceUnixMs.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, CoordinatorJsonContext.Default.MemberRecord);

    /// <summary>Parses a record, or returns null for anything malformed: a foreign or corrupt key is never fatal.</summary>
    public static MemberRecord? TryParse(ReadOnlySpan<byte> value)
    {
        try
        {
            var record = JsonSerializer.Deserialize(value, CoordinatorJsonContext.Default.MemberRecord);
            if (record is null || string.IsNullOrEmpty(record.PeerId) || string.IsNullOrEmpty(record.Name)
                || record.PublicKeyZ85 is not { Length: 40 } || record.SigningKey is not { Length: 44 }
                || string.IsNullOrEmpty(record.Endpoint))
            {
                return null;
            }

            return record;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
