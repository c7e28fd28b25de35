using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Coordinator.Membership;

/// <summary>What a peer reports of its links: the members it follows with a working link, and those without, and
/// the round trip in milliseconds of the up links it has measured on the heartbeats (<see cref="Rtt"/>; absent in
/// reports of older peers). For display only: nothing acts on it, so an etcd writer can at worst make a link look bad.</summary>
public sealed record LinkStates(
    [property: JsonPropertyName("up")] IReadOnlyList<string> Up,
    [property: JsonPropertyName("down")] IReadOnlyList<string> Down)
{
    /// <summary>A round trip beyond this is no reading (the heartbeat's own staleness is 10 s).</summary>
    public const double MaxRttMs = 60_000;

    [JsonPropertyName("rtt")]
    public IReadOnlyDictionary<string, double>? Rtt { get; init; }

    /// <summary>The round trip to <paramref name="peerId"/> in ms, when reported and sensible.</summary>
    public double? RttOf(string peerId) =>
        Rtt is not null && Rtt.TryGetValue(peerId, out var ms) && double.IsFinite(ms) && ms is >= 0 and <= MaxRttMs ? ms : null;

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
