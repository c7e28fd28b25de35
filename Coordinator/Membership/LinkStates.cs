using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Coordinator.Membership;

/// <summary>What a peer reports of its links: the members it follows with a working link, and those without.</summary>
public sealed record LinkStates(
    [property: JsonPropertyName("up")] IReadOnlyList<string> Up,
    [property: JsonPropertyName("down")] IReadOnlyList<string> Down)
{
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, CoordinatorJsonContext.Default.LinkStates);

    /// <summary>Parses a record, or returns null for anything malformed.</summary>
    public static LinkStates? TryParse(ReadOnlySpan<byte> value)
    {
        try
        {
            var states = JsonSerializer.Deserialize(value, CoordinatorJsonContext.Default.LinkStates);
            return states is { Up: not null, Down: not null } ? states : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
