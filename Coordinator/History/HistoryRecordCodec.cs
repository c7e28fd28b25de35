using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Mesh.Coordinator.History;

/// <summary>The on-disk form of a history entry, shared by the outbox and the local history copy:
/// <c>[length u32][checksum u32][group len u16][group][name len u16][name][value]</c>, little-endian.</summary>
/// <remarks>A record torn by a crash mid-write fails its length or checksum, and reading stops there: what came
/// before is intact, what did not finish is not taken for data.</remarks>
public static class HistoryRecordCodec
{
    private const int MaxRecordBytes = 8 * 1024 * 1024;

    public static byte[] Encode(HistoryEntry entry)
    {
        var group = Encoding.UTF8.GetBytes(entry.Group);
        var name = Encoding.UTF8.GetBytes(entry.Name);
        var payload = new byte[2 + group.Length + 2 + name.Length + entry.Value.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(payload, (ushort)group.Length);
        group.CopyTo(payload, 2);
        BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(2 + group.Length), (ushort)name.Length);
        name.CopyTo(payload, 4 + group.Length);
        entry.Value.CopyTo(payload, 4 + group.Length + name.Length);
        var record = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), Checksum(payload));
        payload.CopyTo(record, 8);
        return record;
    }

    /// <summary>Reads records from the start of <paramref name="bytes"/> until the end or the first bad one;
    /// returns how many it read, and how many bytes they took.</summary>
    public static long ReadAll(byte[] bytes, List<HistoryEntry> into) => ReadAll(bytes, into, out _);

    public static long ReadAll(byte[] bytes, List<HistoryEntry> into, out int goodBytes)
    {
        long records = 0;
        var at = 0;
        while (at + 8 <= bytes.Length)
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
            if (length > MaxRecordBytes || at + 8 + length > bytes.Length)
            {
                break;
            }

            var payload = bytes.AsSpan(at + 8, (int)length);
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 4)) != Checksum(payload) || Decode(payload) is not { } entry)
            {
                break;
            }

            into.Add(entry);
            records++;
            at += 8 + (int)length;
        }

        goodBytes = at;
        return records;
    }

    private static HistoryEntry? Decode(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 4)
        {
            return null;
        }

        int groupLength = BinaryPrimitives.ReadUInt16LittleEndian(payload);
        if (2 + groupLength + 2 > payload.Length)
        {
            return null;
        }

        var group = Encoding.UTF8.GetString(payload.Slice(2, groupLength));
        int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(payload[(2 + groupLength)..]);
        var valueStart = 4 + groupLength + nameLength;
        if (valueStart > payload.Length)
        {
            return null;
        }

        var name = Encoding.UTF8.GetString(payload.Slice(4 + groupLength, nameLength));
        return new HistoryEntry(group, name, payload[valueStart..].ToArray());
    }

    private static uint Checksum(ReadOnlySpan<byte> payload) => BinaryPrimitives.ReadUInt32LittleEndian(SHA256.HashData(payload));
}
