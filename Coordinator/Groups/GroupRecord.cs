using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Coordinator.Groups;

/// <summary>A group's durable directory entry: written once, by whoever created the group.</summary>
public sealed record GroupRecord(
    [property: JsonPropertyName("created_at")] long CreatedAtUnixMs,
    [property: JsonPropertyName("created_by")] string CreatedBy)
{
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, CoordinatorJsonContext.Default.GroupRecord);
}
