namespace Mesh.Peer.Ui;

/// <summary>What the UI shows of one group.</summary>
public sealed class GroupView(string name)
{
    public string Name { get; } = name;

    public List<ChatLine> Lines { get; } = [];

    private readonly Dictionary<string, (string Name, bool Online)> _people = new(StringComparer.Ordinal);

    /// <summary>Members by the label shown: true while online, false once they left. Kept by peer id underneath, so
    /// that two homes using one name are two people: one leaving does not take the other offline, and both are shown
    /// with the short fingerprint their peer id starts with (<c>amy#70d9</c>), the one who came first too.</summary>
    public SortedDictionary<string, bool> Members
    {
        get
        {
            var shared = _people.Values.GroupBy(p => p.Name, StringComparer.Ordinal).Where(g => g.Count() > 1)
                .Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
            var members = new SortedDictionary<string, bool>(StringComparer.Ordinal);
            foreach (var (key, (name, online)) in _people)
            {
                var label = shared.Contains(name) && !key.StartsWith(ByName, StringComparison.Ordinal) ? $"{name}#{key[..ShortFingerprint]}" : name;
                members[label] = online || members.GetValueOrDefault(label);
            }

            return members;
        }
    }

    /// <summary>Each member as the member pane lists it: label, peer id (null when only the name is known), online.</summary>
    public List<(string Label, string? PeerId, bool Online)> People
    {
        get
        {
            var members = Members;
            return _people.Select(p =>
                {
                    var peerId = p.Key.StartsWith(ByName, StringComparison.Ordinal) ? null : p.Key;
                    var label = peerId is not null && !members.ContainsKey(p.Value.Name) ? $"{p.Value.Name}#{peerId[..ShortFingerprint]}" : p.Value.Name;
                    return (label, peerId, p.Value.Online);
                })
                .OrderByDescending(p => p.Online).ThenBy(p => p.label, StringComparer.Ordinal).ToList();
        }
    }

    private const string ByName = "name:";

    /// <summary>The short fingerprint is the start of the peer id (both are the SHA-256 of the signing key).</summary>
    private const int ShortFingerprint = 4;

    /// <summary>The names two or more members share (each then shown with its fingerprint).</summary>
    private HashSet<string> SharedNames() =>
        _people.Values.GroupBy(p => p.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);

    /// <summary>The label of a sender's lines: its name, with the fingerprint when another member has the name too.</summary>
    public string LabelOf(string peerId, string name)
    {
        var suffix = peerId.Length >= ShortFingerprint ? "#" + peerId[..ShortFingerprint] : "";
        var bare = suffix.Length > 0 && name.EndsWith(suffix, StringComparison.Ordinal) ? name[..^suffix.Length] : name;
        return suffix.Length > 0 && SharedNames().Contains(bare) ? bare + suffix : bare;
    }

    /// <summary>Relabels the lines of every sender whose name became shared (or stopped being): all of a member's
    /// lines read the same label, the ones from before the second member came too.</summary>
    public void Relabel()
    {
        var shared = SharedNames();
        if (shared.SetEquals(_labelledShared))
        {
            return;
        }

        _labelledShared = shared;
        for (var i = 0; i < Lines.Count; i++)
        {
            if (Lines[i] is { PeerId: { } peerId, From: { } from } line)
            {
                var label = LabelOf(peerId, from);
                if (label != from)
                {
                    Lines[i] = line with { From = label };
                    if (line.Id is { } id)
                    {
                        ById[id] = Lines[i];
                    }
                }
            }
        }
    }

    private HashSet<string> _labelledShared = new(StringComparer.Ordinal);

    /// <summary>A member came or went: <paramref name="peerId"/> says who (null when only the name is known);
    /// <paramref name="name"/> may be the session's label, <c>name#fprt</c>.</summary>
    public void SetMember(string? peerId, string name, bool online)
    {
        if (string.IsNullOrEmpty(peerId) || peerId.Length < ShortFingerprint)
        {
            _people[ByName + name] = (name, online);
            return;
        }

        var suffix = "#" + peerId[..ShortFingerprint];
        _people[peerId] = (name.EndsWith(suffix, StringComparison.Ordinal) ? name[..^suffix.Length] : name, online);
    }

    /// <summary>Messages that arrived while another group was shown.</summary>
    public int Unread { get; set; }

    /// <summary>Of those, the ones that name me (counted apart: they are for me).</summary>
    public int UnreadMentions { get; set; }

    /// <summary>The line the read marker goes above: the first that came while the group was not shown (-1: none).</summary>
    public int MarkerIndex { get; set; } = -1;

    /// <summary>True while another group is shown.</summary>
    public bool Away { get; set; }

    public bool Ready { get; set; }

    /// <summary>History messages loaded so far while joining.</summary>
    public long Loaded { get; set; }

    /// <summary>Set once the group waited (for admission or a key), until it is ready.</summary>
    public bool WasWaiting { get; set; }

    /// <summary>Set while the group waits for a member to hand over its key.</summary>
    public string? Waiting { get; set; }

    /// <summary>Set once this peer is no longer a member (it left, or was removed): why, in a few words ("removed by
    /// amy"). The view stays, its history readable, until the user closes it or joins again.</summary>
    public string? Gone { get; set; }

    /// <summary>The key of the newest message the user has seen here (kept across restarts; null when never shown).</summary>
    public string? ReadKey { get; set; }

    /// <summary>The messages shown, by id: each comes once however often it is loaded (a join again loads the history
    /// this view holds), and reactions, edits and deletes find theirs at once, however long the history.</summary>
    public Dictionary<string, ChatLine> ById { get; } = new(StringComparer.Ordinal);

    /// <summary>Mesh's own view: what is said while no group is shown (errors, help, the answer to a command).</summary>
    public bool IsCore { get; init; }
}
