using Mesh.Coordinator.Groups;
using Mesh.Coordinator.Membership;

namespace Mesh.Monitoring.Watcher;

/// <summary>Reads what the monitor finds under <c>/mesh/</c>. Every Mesh user can write any key there, so each value may
/// be junk (malformed JSON, wrong types, nulls, huge values) and each key may have any shape: a value over its cap is
/// not parsed at all, and what comes out is checked (ids present and short, no nulls, bounded lists) or null.</summary>
public static class RecordReader
{
    /// <summary>A peer or member record is some 400 bytes: name, two keys, endpoint, group, signature.</summary>
    public const int MaxMemberRecordBytes = 4 * 1024;

    /// <summary>A link report names each member the peer follows (an id and a round trip, some 60 bytes each).</summary>
    public const int MaxLinkReportBytes = 256 * 1024;

    /// <summary>Links in one report, up and down together: a report naming more is not read.</summary>
    public const int MaxLinksPerReport = 2_000;

    /// <summary>A group's directory entry is its signed genesis, well under 1 KiB.</summary>
    public const int MaxGroupRecordBytes = 64 * 1024;

    /// <summary>Peer ids are 32 hex digits; a key or a report naming a longer one is not a peer's.</summary>
    public const int MaxIdLength = 128;

    /// <summary>Group names taken from keys.</summary>
    public const int MaxGroupNameLength = 256;

    /// <summary>A peer's presence record (<c>/mesh/peers/ID</c>) or a member record (<c>/mesh/members/G/ID</c>), or null.</summary>
    /// <remarks>The peer id must be short; a group left out or null (the parser leaves it null, not "") is read as "".</remarks>
    public static MemberRecord? ReadMember(ReadOnlySpan<byte> value) =>
        value.Length <= MaxMemberRecordBytes && MemberRecord.TryParse(value) is { } record && IsId(record.PeerId)
            ? record with { Group = record.Group ?? "" }
            : null;

    /// <summary>A peer's link report (<c>/mesh/links/ID</c>) with only well-formed ids (no nulls, no empty or long ones;
    /// each once, and a link reported both up and down counted down), and round trips only for those; or null.</summary>
    public static LinkStates? ReadLinks(ReadOnlySpan<byte> value)
    {
        if (value.Length > MaxLinkReportBytes || LinkStates.TryParse(value) is not { } states
            || states.Up.Count + states.Down.Count > MaxLinksPerReport || states.Rtt?.Count > MaxLinksPerReport)
        {
            return null;
        }

        var down = states.Down.Where(IsId).Distinct(StringComparer.Ordinal).ToList();
        var downSet = down.ToHashSet(StringComparer.Ordinal);
        var up = states.Up.Where(id => IsId(id) && !downSet.Contains(id)).Distinct(StringComparer.Ordinal).ToList();
        var rtt = states.Rtt?.Where(r => IsId(r.Key) && states.RttOf(r.Key) is not null).ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal);
        return new LinkStates(up, down) { Rtt = rtt };
    }

    /// <summary>What a group's directory entry (<c>/mesh/groups/G</c>) says of itself, for display, or null.</summary>
    public static GroupRecord? ReadGroup(ReadOnlySpan<byte> value) =>
        value.Length <= MaxGroupRecordBytes ? GroupRecord.TryParse(value) : null;

    /// <summary>Whether a peer id (from a key or a record) is one the monitor keeps: present and short.</summary>
    public static bool IsId(string? id) => id is { Length: > 0 and <= MaxIdLength };

    /// <summary>Whether a group name (from a key) is one the monitor keeps.</summary>
    public static bool IsGroupName(string? name) => name is { Length: > 0 and <= MaxGroupNameLength };
}
