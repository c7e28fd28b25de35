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
