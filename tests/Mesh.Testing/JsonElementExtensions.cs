using System.Text.Json;

namespace Mesh.Testing;

public static class JsonElementExtensions
{
    /// <summary>The string property <paramref name="name"/>, or null when absent or not a string.</summary>
    public static string? Str(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
