namespace Mesh.Peer.Ui;

/// <summary>What the UI shows of one group.</summary>
public sealed class GroupView(string name)
{
    public string Name { get; } = name;

    public List<ChatLine> Lines { get; } = [];

    /// <summary>Members by name: true while online, false once they left.</summary>
    public SortedDictionary<string, bool> Members { get; } = new(StringComparer.Ordinal);

    /// <summary>Messages that arrived while another group was shown.</summary>
    public int Unread { get; set; }

    public bool Ready { get; set; }

    /// <summary>History messages loaded so far while joining.</summary>
    public long Loaded { get; set; }

    /// <summary>Set while the group waits for a member to hand over its key.</summary>
    public string? Waiting { get; set; }
}
