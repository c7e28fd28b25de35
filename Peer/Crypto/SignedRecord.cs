using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Mesh.Peer.Crypto;

/// <summary>The stored shape of every signed record (log entries, grants, invites, admission requests):
/// <c>{"b":BODY,"s":SIGNATURE,…}</c>, BODY being a JSON object as a string, so that the signature covers exact bytes
/// and the body stays readable.</summary>
public static class SignedRecord
{
    public static byte[] Write(byte[] body, byte[] signature, params (string Name, string Value)[] extra)
    {
        var buffer = new ArrayBufferWriter<byte>(body.Length * 2 + 128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("b", Encoding.UTF8.GetString(body));
            w.WriteBase64String("s", signature);
            foreach (var (name, value) in extra)
            {
                w.WriteString(name, value);
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Splits a record into its body and signature (and named extra strings); false for anything malformed
    /// or larger than <paramref name="maxBytes"/>. The signature is not checked here.</summary>
    public static bool TryRead(ReadOnlySpan<byte> record, int maxBytes, out byte[] body, out byte[] signature, out Dictionary<string, string> extra)
    {
        body = signature = [];
        extra = new(StringComparer.Ordinal);
        if (record.Length is 0 || record.Length > maxBytes)
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(record.ToArray(), new JsonDocumentOptions { MaxDepth = 2 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("b", out var b) || b.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("s", out var s) || s.ValueKind != JsonValueKind.String || !s.TryGetBytesFromBase64(out var sig) || sig is null)
            {
                return false;
            }

            foreach (var property in root.EnumerateObject())
            {
                if (property.Name is not ("b" or "s") && property.Value.ValueKind == JsonValueKind.String)
                {
                    extra[property.Name] = property.Value.GetString()!;
                }
            }

            body = Encoding.UTF8.GetBytes(b.GetString()!);
            signature = sig;
            return true;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return false;
        }
    }
}
