using System.Text;
using System.Text.Json;
using Mesh.Peer.Configuration;

namespace Mesh.Peer.Protocol;

/// <summary>Serializes envelopes as compact JSON, and parses untrusted bytes back without ever throwing.</summary>
public static class EnvelopeCodec
{
    /// <summary>No valid envelope is larger: the text limit plus generous room for the other fields and escaping.</summary>
    public const int MaxEncodedBytes = Naming.MaxTextBytes * 6 + 1024;

    public static byte[] Encode(Envelope e)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 + e.Text.Length * 2);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", 1);
            w.WriteString("g", e.Group);
            w.WriteString("p", e.PeerId);
            w.WriteNumber("e", e.Epoch);
            w.WriteNumber("s", e.Seq);
            w.WriteString("f", e.From);
            w.WriteNumber("t", e.SentAtMs);
            w.WriteString("x", e.Text);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Parses an envelope; returns null for anything malformed, oversized or out of range.</summary>
    public static Envelope? TryDecode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0 || bytes.Length > MaxEncodedBytes)
        {
            return null;
        }

        try
        {
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 2 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            string? group = null, peer = null, from = null, text = null;
            long epoch = -1, seq = -1, sentAt = -1, version = -1;
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }

                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    return null;
                }

                var name = reader.ValueSpan.Length == 1 ? (char)reader.ValueSpan[0] : '\0';
                if (!reader.Read())
                {
                    return null;
                }

                switch (name)
                {
                    case 'v' when reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var v): version = v; break;
                    case 'g' when reader.TokenType == JsonTokenType.String: group = reader.GetString(); break;
                    case 'p' when reader.TokenType == JsonTokenType.String: peer = reader.GetString(); break;
                    case 'e' when reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var ep): epoch = ep; break;
                    case 's' when reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var s): seq = s; break;
                    case 'f' when reader.TokenType == JsonTokenType.String: from = reader.GetString(); break;
                    case 't' when reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var t): sentAt = t; break;
                    case 'x' when reader.TokenType == JsonTokenType.String: text = reader.GetString(); break;
                    default:
                        // Unknown fields are allowed (newer senders); skip their values.
                        reader.Skip();
                        break;
                }
            }

            if (version != 1 || !Naming.IsValidGroup(group) || !Naming.IsValidName(from) || peer is not { Length: 16 }
                || text is null || epoch <= 0 || seq <= 0 || sentAt < 0 || Encoding.UTF8.GetByteCount(text) > Naming.MaxTextBytes)
            {
                return null;
            }

            return new Envelope(group!, peer, epoch, seq, from!, sentAt, text);
        }
        catch (JsonException)
        {
            return null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
