using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using Mesh.Coordinator.History;

namespace Mesh.Peer.Home;

/// <summary>The on-disk form of a history entry, shared by the outbox and the local history copy:
/// <c>["MshC"][length u32][CRC-32 u32][group len u16][group][name len u16][name][value]</c>, little-endian.</summary>
/// <remarks>
/// Every record starts with a marker, so a reader that meets a damaged record (a flipped bit, a bad sector) finds the
/// next good one and loses that record alone, not the rest of the file. A record torn by a crash mid-write is the
/// last one in its file and is told apart from damage in the middle.
/// The checksum guards against damage, not against an attacker (whoever can write the home can write the keys too):
/// CRC-32, which catches every burst of up to 32 flipped bits and costs a fraction of a microsecond per record, where
/// the first four bytes of a SHA-256 through OpenSSL were a tenth of a busy receiver. Records written with that
/// checksum (marker <c>"MshR"</c>) are still read, and so are files written before markers existed.
/// </remarks>
public static class HistoryRecordCodec
{
    private const int MaxRecordBytes = 8 * 1024 * 1024;
    private const int HeaderBytes = 12;
    /// <summary>What every record written now starts with: its checksum is a CRC-32.</summary>
    private static readonly byte[] Marker = "MshC"u8.ToArray();

    /// <summary>What records written with the older checksum (SHA-256's first four bytes) start with.</summary>
    private static readonly byte[] Sha256Marker = "MshR"u8.ToArray();

    /// <summary>The three bytes both markers share: where a reader looks for the next record after damage.</summary>
    private static readonly byte[] MarkerStem = "Msh"u8.ToArray();

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
        var record = new byte[HeaderBytes + payload.Length];
        Marker.CopyTo(record, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), Checksum(payload));
        payload.CopyTo(record, HeaderBytes);
        return record;
    }

    /// <summary>True when <paramref name="bytes"/> hold records of the format before the marker (a file that is
    /// rewritten before anything is appended to it).</summary>
    public static bool IsLegacy(ReadOnlySpan<byte> bytes) => bytes.Length >= 8 && MarkerAt(bytes, 0) is null;

    /// <summary>Which record format starts at <paramref name="at"/>: true for CRC-32, false for SHA-256, null for none.</summary>
    private static bool? MarkerAt(ReadOnlySpan<byte> bytes, int at) =>
        at + 4 > bytes.Length ? null
        : bytes.Slice(at, 4).SequenceEqual(Marker) ? true
        : bytes.Slice(at, 4).SequenceEqual(Sha256Marker) ? false
        : null;

    /// <summary>Reads every good record of <paramref name="bytes"/> into <paramref name="into"/>, skipping damaged ones.</summary>
    public static RecordScan Read(ReadOnlySpan<byte> bytes, List<HistoryEntry> into)
    {
        if (IsLegacy(bytes))
        {
            return ReadLegacy(bytes, into);
        }

        long records = 0, damaged = 0;
        var at = 0;
        var goodEnd = 0;
        var inDamage = false;
        var damageStart = 0;
        while (at < bytes.Length)
        {
            if (TryRecordAt(bytes, at, out var length, out var entry))
            {
                into.Add(entry!);
                records++;
                at += HeaderBytes + length;
                goodEnd = at;
                inDamage = false;
                continue;
            }

            // Not a record here: look for the next marker. A stretch of damage between two good records costs what
            // it held; the stretch is counted once, however many false markers it contains.
            if (!inDamage)
            {
                damaged++;
                inDamage = true;
                damageStart = at;
            }

            var next = bytes[(at + 1)..].IndexOf(MarkerStem);
            if (next < 0)
            {
                break;
            }

            at += 1 + next;
        }

        // A record that starts after the last good one and claims more bytes than the file has is a write cut short
        // by a crash; a complete record that fails its checksum is damage, wherever it is.
        var torn = inDamage && IsCutShort(bytes[damageStart..]);
        if (torn)
        {
            damaged--;
        }

        return new RecordScan(records, damaged, goodEnd, torn);
    }

    private static bool IsCutShort(ReadOnlySpan<byte> tail) =>
        tail.Length < HeaderBytes
            ? StartsLikeMarker(tail)
            : MarkerAt(tail, 0) is not null && HeaderBytes + (long)BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]) > tail.Length;

    /// <summary>Whether a tail shorter than a header is the start of a record's marker.</summary>
    private static bool StartsLikeMarker(ReadOnlySpan<byte> tail)
    {
        var n = Math.Min(tail.Length, Marker.Length);
        return Marker.AsSpan(0, n).SequenceEqual(tail[..n]) || Sha256Marker.AsSpan(0, n).SequenceEqual(tail[..n]);
    }

    private static bool TryRecordAt(ReadOnlySpan<byte> bytes, int at, out int length, out HistoryEntry? entry)
    {
        length = 0;
        entry = null;
        if (at + HeaderBytes > bytes.Length || MarkerAt(bytes, at) is not { } crc)
        {
            return false;
        }

        var claimed = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(at + 4)..]);
        if (claimed > MaxRecordBytes || at + HeaderBytes + claimed > bytes.Length)
        {
            return false;
        }

        length = (int)claimed;
        var payload = bytes.Slice(at + HeaderBytes, length);
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes[(at + 8)..]) != (crc ? Checksum(payload) : Sha256Checksum(payload)))
        {
            return false;
        }

        entry = Decode(payload);
        return entry is not null;
    }

    private static RecordScan ReadLegacy(ReadOnlySpan<byte> bytes, List<HistoryEntry> into)
    {
        long records = 0;
        var at = 0;
        while (at + 8 <= bytes.Length)
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]);
            if (length > MaxRecordBytes || at + 8 + length > bytes.Length)
            {
                break;
            }

            var payload = bytes.Slice(at + 8, (int)length);
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes[(at + 4)..]) != Sha256Checksum(payload) || Decode(payload) is not { } entry)
            {
                break;
            }

            into.Add(entry);
            records++;
            at += 8 + (int)length;
        }

        // The old format cannot resynchronise: whatever follows a bad record is lost to it, and counted as one.
        return new RecordScan(records, at < bytes.Length ? 1 : 0, at, TornTail: false);
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

    private static uint Checksum(ReadOnlySpan<byte> payload) => Crc32.HashToUInt32(payload);

    /// <summary>The checksum of records written before CRC-32 (and of files before markers): read, never written.</summary>
    private static uint Sha256Checksum(ReadOnlySpan<byte> payload) => BinaryPrimitives.ReadUInt32LittleEndian(SHA256.HashData(payload));

    /// <summary>A record in the older format (SHA-256 checksum), as earlier versions wrote it: for tests of reading it.</summary>
    internal static byte[] EncodeSha256(HistoryEntry entry)
    {
        var record = Encode(entry);
        Sha256Marker.CopyTo(record, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), Sha256Checksum(record.AsSpan(HeaderBytes)));
        return record;
    }
}
