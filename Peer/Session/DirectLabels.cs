using System.Collections.Immutable;

namespace Mesh.Peer.Session;

/// <summary>How a direct conversation appears to the user: as a group named for the other member, <c>@NAME</c> (a name a
/// real group cannot have), while everything inside the session knows it by its group name (<see cref="Groups.DirectName"/>).
/// Events leave with the label in place of the group; lines and commands that name a label are taken for its group.</summary>
/// <remarks>Labels are added on the loop and read from any thread (events are emitted from anywhere): the maps are
/// immutable and swapped whole.</remarks>
public sealed class DirectLabels
{
    private ImmutableDictionary<string, string> _labelOf = ImmutableDictionary.Create<string, string>(StringComparer.Ordinal);
    private ImmutableDictionary<string, string> _groupOf = ImmutableDictionary.Create<string, string>(StringComparer.Ordinal);

    /// <summary>Gives <paramref name="group"/> its label, once: <c>@NAME</c>, or, when another conversation has that
    /// label already (two members share the name), <c>@NAME~</c> and the first 6 characters of the peer id.</summary>
    public string Add(string group, string partnerName, string partnerId)
    {
        if (_labelOf.TryGetValue(group, out var known))
        {
            return known;
        }

        var label = "@" + partnerName;
        if (_groupOf.ContainsKey(label))
        {
            label = $"@{partnerName}~{partnerId[..6]}";
        }

        _groupOf = _groupOf.SetItem(label, group);
        Volatile.Write(ref _labelOf, _labelOf.SetItem(group, label));
        return label;
    }

    /// <summary>Whether <paramref name="name"/> has the form of a label (<c>@NAME</c> or <c>@NAME~PEER</c>): what a view
    /// of a direct conversation is saved under.</summary>
    public static bool IsLabelForm(string name) => name.Length > 1 && name[0] == '@' && name[1..].Split('~') switch
    {
        [var who] => Configuration.Naming.IsValidName(who),
        [var who, var peer] => Configuration.Naming.IsValidName(who) && peer.Length == 6 && peer.All(char.IsAsciiHexDigit),
        _ => false,
    };

    /// <summary>The group a name typed or shown stands for: a label's group, or the name itself.</summary>
    public string GroupOf(string name) => Volatile.Read(ref _groupOf).GetValueOrDefault(name, name);

    public string LabelOf(string group) => Volatile.Read(ref _labelOf).GetValueOrDefault(group, group);

    public bool IsLabel(string name) => Volatile.Read(ref _groupOf).ContainsKey(name);

    /// <summary>The event as the user sees it: a direct conversation's group replaced by its label.</summary>
    public MeshEvent Relabel(MeshEvent e)
    {
        if (Volatile.Read(ref _labelOf).IsEmpty)
        {
            return e;
        }

        return e switch
        {
            ReadyEvent r => r with { Group = LabelOf(r.Group) },
            MembersEvent m => m with { Group = LabelOf(m.Group) },
            MessageEvent m => m with { Group = LabelOf(m.Group) },
            ReactionEvent k => k with { Group = LabelOf(k.Group) },
            EditEvent k => k with { Group = LabelOf(k.Group) },
            DeleteEvent k => k with { Group = LabelOf(k.Group) },
            MemberEvent m => m with { Group = LabelOf(m.Group) },
            ErrorEvent { Group: { } g } x => x with { Group = LabelOf(g) },
            InfoEvent { Group: { } g } x => x with { Group = LabelOf(g) },
            InviteEvent i => i with { Group = LabelOf(i.Group) },
            WaitingEvent w => w with { Group = LabelOf(w.Group) },
            HistoryProgressEvent h => h with { Group = LabelOf(h.Group) },
            _ => e,
        };
    }
}
