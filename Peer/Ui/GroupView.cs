namespace Mesh.Peer.Ui;

/// <summary>What the UI shows of one group.</summary>
public sealed class GroupView(string name)
{
    public string Name { get; } = name;

    public List<ChatLine> Lines { get; } = [];

    private readonly Dictionary<string, (string Name, bool Online)> _people = new(StringComparer.Ordinal);

    /// <summary>Members by the name shown: true while online, false once they left. Kept by peer id underneath, so that
    /// two homes using one name are two people: one leaving does not take the other offline.</summary>
    public SortedDictionary<string, bool> Members
    {
        get
        {
            var members = new SortedDictionary<string, bool>(StringComparer.Ordinal);
            foreach (var (name, online) in _people.Values)
            {
                members[name] = online || members.GetValueOrDefault(name);
            }

            return members;
        }
    }

    /// <summary>A member came or went: <paramref name="peerId"/> says who (null when only the name is known).</summary>
    public void SetMember(string? peerId, string name, bool online) =>
        _people[string.IsNullOrEmpty(peerId) ? "name:" + name : peerId] = (name, online);

    /// <summary>Messages that arrived while another group was shown.</summary>
    public int Unread { get; set; }

    public bool Ready { get; set; }

    /// <summary>History messages loaded so far while joining.</summary>
    public long Loaded { get; set; }

    /// <summary>Set while the group waits for a member to hand over its key.</summary>
    public string? Waiting { get; set; }
}
