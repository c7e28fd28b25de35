using System.Globalization;
using Mesh.Coordinator;
using Mesh.Coordinator.History;
using Mesh.Peer.Protocol;
using Mesh.Peer.Session;

namespace Mesh.Peer.Ui;

/// <summary>The state of the terminal UI, built only from session events: UI thread only, no Terminal.Gui types.</summary>
public sealed class ChatModel(string name, string fingerprint)
{
    private readonly List<GroupView> _groups = [];

    public string Name { get; } = name;

    public string Fingerprint { get; } = fingerprint;

    /// <summary>This peer's id: who "I" am in member events (a name can be another home's too).</summary>
    public string? PeerId { get; init; }

    public IReadOnlyList<GroupView> Groups => _groups;

    public int CurrentIndex { get; private set; }

    public GroupView? Current => _groups.Count == 0 ? null : _groups[Math.Min(CurrentIndex, _groups.Count - 1)];

    /// <summary>Mesh's own view, shown while there is no group: it always answers (help, errors, commands).</summary>
    public GroupView Core { get; } = new("mesh") { IsCore = true };

    /// <summary>What the message pane shows: the current group, or <see cref="Core"/> when there is none.</summary>
    public GroupView Shown => Current ?? Core;

    /// <summary>Read marks of groups as kept from the last run (<see cref="RestoreReadMarks"/>), and of groups closed since.</summary>
    private readonly Dictionary<string, string> _readMarks = new(StringComparer.Ordinal);

    /// <summary>Set when a group's read mark moved: the screen saves the marks (<see cref="TakeReadMarks"/>).</summary>
    private bool _readMarksChanged;

    /// <summary>Takes up the read marks kept from the last run: a group's messages after its mark count as unread as
    /// its history loads, and the read marker goes above the first of them.</summary>
    public void RestoreReadMarks(IReadOnlyDictionary<string, string> marks)
    {
        foreach (var (group, key) in marks)
        {
            _readMarks[group] = key;
        }

        foreach (var view in _groups)
        {
            view.ReadKey ??= _readMarks.GetValueOrDefault(view.Name);
        }
    }

    /// <summary>The read marks to keep when one moved since the last call, else null.</summary>
    public IReadOnlyDictionary<string, string>? TakeReadMarks()
    {
        if (!_readMarksChanged)
        {
            return null;
        }

        _readMarksChanged = false;
        return ReadMarks();
    }

    /// <summary>Every read mark: of the groups open, and those kept of groups not open now.</summary>
    public Dictionary<string, string> ReadMarks()
    {
        var marks = new Dictionary<string, string>(_readMarks, StringComparer.Ordinal);
        foreach (var view in _groups)
        {
            if (view.ReadKey is { } key)
            {
                marks[view.Name] = key;
            }
        }

        return marks;
    }

    /// <summary>The read mark of a group seen while it held no message: before every key.</summary>
    public const string NothingYet = "0";

    /// <summary>The user sees <paramref name="group"/>'s newest message: its read mark moves there.</summary>
    private void MarkRead(GroupView group)
    {
        if (group.ReadKey is null)
        {
            // Seen while it holds no message: every message after now is news. Keys start with digits; this sorts first.
            group.ReadKey = NothingYet;
            _readMarksChanged = true;
        }

        for (var i = group.Lines.Count - 1; i >= 0; i--)
        {
            if (group.Lines[i].Kind != ChatLineKind.System && group.Lines[i].Key.Length > 0)
            {
                var newest = group.Lines[i].Key;
                if (group.ReadKey is null || string.CompareOrdinal(newest, group.ReadKey) > 0)
                {
                    group.ReadKey = newest;
                    _readMarksChanged = true;
                }

                return;
            }
        }
    }

    /// <summary>A group the user asked to join (<c>/join G</c>): its view is shown as soon as it exists.</summary>
    private string? _follow;

    /// <summary>etcd as the user should see it: "connected", "unreachable — retrying in 4 s", …</summary>
    public string EtcdState { get; private set; } = "connecting";

    public int LinksConnected { get; private set; }

    /// <summary>Each member's link and round trip, by peer id (from the session's health reports).</summary>
    public Dictionary<string, (string Link, TimeSpan? Rtt)> Health { get; } = new(StringComparer.Ordinal);

    /// <summary>How a member's link reads: "up 0.3 ms", "down", "you"; empty when offline or unknown.</summary>
    public string LinkText(string? peerId, bool online)
    {
        if (peerId is not null && peerId == PeerId)
        {
            return "you";
        }

        if (!online || peerId is null || !Health.TryGetValue(peerId, out var health))
        {
            return "";
        }

        return health.Link == "up" && health.Rtt is { } rtt ? Rtt(rtt) : health.Link;
    }

    /// <summary>False when the session reported the link to an online member as not up (down, reconnecting, …).</summary>
    public bool LinkUp(string? peerId) => peerId is null || !Health.TryGetValue(peerId, out var health) || health.Link == "up";

    /// <summary>A round trip in a few characters: "0.3 ms", "42 ms", "1.2 s".</summary>
    public static string Rtt(TimeSpan rtt) => rtt.TotalMilliseconds switch
    {
        < 10 => rtt.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture) + " ms",
        < 1000 => rtt.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms",
        _ => rtt.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s",
    };

    public int LinksKnown { get; private set; }

    public bool Leaving { get; set; }

    private DateTimeOffset? _reconnectedAt;

    /// <summary>How long news stays on the status bar before it reads as the plain state again.</summary>
    public static readonly TimeSpan NewsShown = TimeSpan.FromSeconds(10);

    /// <summary>Lets news on the status bar expire ("etcd reconnected" becomes "etcd connected"); true when it did.</summary>
    public bool Expire(DateTimeOffset now)
    {
        if (_reconnectedAt is { } at && now - at >= NewsShown)
        {
            _reconnectedAt = null;
            if (EtcdState == "etcd reconnected")
            {
                EtcdState = "etcd connected";
                return true;
            }
        }

        return false;
    }

    /// <summary>Set when a message named me: the screen rings the terminal's bell once and clears it.</summary>
    public bool Bell { get; set; }

    public GroupView Group(string group)
    {
        var view = _groups.FirstOrDefault(g => g.Name == group);
        if (view is null)
        {
            view = new GroupView(group) { Away = _groups.Count > 0, ReadKey = _readMarks.GetValueOrDefault(group) };
            _groups.Add(view);
            if (_follow == group || _groups.Count == 1)
            {
                _follow = null;
                SwitchTo(_groups.Count - 1);
            }
        }

        return view;
    }

    /// <summary>The user typed <c>/join G</c>: G is shown now if its view exists (a group left earlier), else as soon
    /// as the session says anything of it.</summary>
    public void Follow(string group)
    {
        if (!SwitchTo(group))
        {
            _follow = group;
        }
    }

    /// <summary><c>/close G</c>: closes the view of a group this peer is no longer a member of; null when closed, else
    /// why not.</summary>
    public string? Close(string group)
    {
        var index = _groups.FindIndex(g => g.Name == group);
        if (index < 0)
        {
            return $"no view of '{group}' is open";
        }

        if (_groups[index].Gone is null)
        {
            return $"you are a member of '{group}': /leave {group} leaves it (its view stays until /close)";
        }

        if (_groups[index].ReadKey is { } closedMark)
        {
            _readMarks[group] = closedMark;
        }

        _groups.RemoveAt(index);
        CurrentIndex = Math.Clamp(CurrentIndex > index ? CurrentIndex - 1 : CurrentIndex, 0, Math.Max(0, _groups.Count - 1));
        if (Current is { } shown)
        {
            shown.Unread = 0;
            shown.UnreadMentions = 0;
            shown.Away = false;
        }

        return null;
    }

    /// <summary>Shows the group at <paramref name="index"/>; false when there is none.</summary>
    public bool SwitchTo(int index)
    {
        if (index < 0 || index >= _groups.Count)
        {
            return false;
        }

        if (index != CurrentIndex && Current is { } leaving)
        {
            // Where I leave off: the marker moves to the first line that comes after this.
            leaving.MarkerIndex = -1;
            leaving.Away = true;
        }

        CurrentIndex = index;
        _groups[index].Unread = 0;
        _groups[index].UnreadMentions = 0;
        _groups[index].Away = false;
        if (_groups[index].Ready)
        {
            MarkRead(_groups[index]);
        }

        return true;
    }

    public bool SwitchTo(string group)
    {
        var index = _groups.FindIndex(g => g.Name == group);
        return index >= 0 && SwitchTo(index);
    }

    public bool Next() => _groups.Count > 0 && SwitchTo((CurrentIndex + 1) % _groups.Count);

    public bool Previous() => _groups.Count > 0 && SwitchTo((CurrentIndex + _groups.Count - 1) % _groups.Count);

    /// <summary>Adds a line from Mesh itself to the group shown now (or to the first one).</summary>
    public void Say(string text, DateTimeOffset at) => Tell(Shown, new ChatLine(at, null, text, ChatLineKind.System));

    /// <summary>Adds a line from Mesh to <paramref name="group"/>'s view when there is one, else to the one shown.</summary>
    private void SayIn(string? group, string text, DateTimeOffset at) =>
        Tell(_groups.FirstOrDefault(g => g.Name == group) ?? Shown, new ChatLine(at, null, text, ChatLineKind.System));

    /// <summary>Adds a line of Mesh's to a view, folded into the last line when that one says the same (counted:
    /// <c>(×3)</c>) or is about the same thing (<see cref="ChatLine.Topic"/>: it is replaced).</summary>
    private static void Tell(GroupView view, ChatLine line)
    {
        if (view.Lines.Count > 0 && view.Lines[^1] is { Kind: ChatLineKind.System } last)
        {
            if (last.Text == line.Text)
            {
                view.Lines[^1] = line with { Repeats = last.Repeats + 1 };
                return;
            }

            if (line.Topic is not null && last.Topic == line.Topic)
            {
                view.Lines[^1] = line;
                return;
            }
        }

        view.Lines.Add(line);
    }

    public void Apply(MeshEvent e, DateTimeOffset now)
    {
        switch (e)
        {
            case MessageEvent message:
                {
                    var group = Group(message.Group);
                    var text = TerminalText.Safe(message.Text, "  ");
                    var mentions = message.Own ? [] : Mentions.Find(text, Name);
                    if (group.ById.ContainsKey(message.Id))
                    {
                        // Shown already (history loaded again on a join after a leave).
                        break;
                    }

                    var from = TerminalText.OneLine(message.From);
                    var line = new ChatLine(message.SentAt, message.PeerId is { } sender ? group.LabelOf(sender, from) : from, text,
                        message.Own ? ChatLineKind.Own : ChatLineKind.Message)
                    {
                        Key = message.Key, Mentions = mentions, PeerId = message.PeerId, Id = message.Id,
                        Quote = message.ReplyTo is { } answered ? QuoteOf(group, answered) : null,
                    };
                    if (message.Deleted is { } deleted)
                    {
                        line.Changes.DeletedBy = TerminalText.OneLine(deleted.From);
                    }

                    var at = PlaceOf(group.Lines, line.Key);
                    group.Lines.Insert(at, line);
                    group.ById[message.Id] = line;
                    if (group.MarkerIndex >= at)
                    {
                        group.MarkerIndex++;
                    }

                    if (!group.Ready)
                    {
                        // History loaded at join is news only past the read mark kept from the last run.
                        if (!message.Own && group.ReadKey is { } read && string.CompareOrdinal(line.Key, read) > 0)
                        {
                            if (group.MarkerIndex < 0 || at < group.MarkerIndex)
                            {
                                group.MarkerIndex = at;
                            }

                            if (group != Current)
                            {
                                group.Unread++;
                                group.UnreadMentions += mentions.Count > 0 ? 1 : 0;
                            }
                        }

                        break;
                    }

                    if (group == Current)
                    {
                        MarkRead(group);
                    }

                    // Live messages from others.
                    if (message.Own)
                    {
                        break;
                    }

                    if (group.Away && group.MarkerIndex < 0)
                    {
                        group.MarkerIndex = at;
                    }

                    if (group != Current)
                    {
                        group.Unread++;
                        group.UnreadMentions += mentions.Count > 0 ? 1 : 0;
                    }

                    Bell |= mentions.Count > 0;
                    break;
                }

            case ReadyEvent ready:
                {
                    var group = Group(ready.Group);
                    group.Ready = true;
                    if (group == Current)
                    {
                        MarkRead(group);
                    }

                    if (group.Gone is not null)
                    {
                        group.Gone = null;
                        group.Lines.Add(new ChatLine(now, null, $"member of {group.Name} again", ChatLineKind.System));
                    }

                    if (group.WasWaiting)
                    {
                        // The waiting said is answered: the group is open to this peer now.
                        group.Lines.Add(new ChatLine(now, null, $"admitted to {group.Name}: history loaded, you can write", ChatLineKind.System));
                    }

                    group.Waiting = null;
                    group.WasWaiting = false;
                    if (ready.Peers is { } peers)
                    {
                        foreach (var peer in peers)
                        {
                            group.SetMember(peer.PeerId, peer.Name, true);
                        }
                    }
                    else
                    {
                        foreach (var member in ready.Members)
                        {
                            group.SetMember(null, member, true);
                        }
                    }

                    group.Relabel();

                    break;
                }

            case MemberEvent member when !member.Joined && (PeerId is { } me ? member.PeerId == me : member.Name == Name):
                {
                    // This peer left the group or was removed: the view stays, marked, its history readable.
                    var group = Group(member.Group);
                    group.Gone = member.Reason == MemberEvent.Removed
                        ? member.By is { } by ? $"removed by {TerminalText.OneLine(by)}" : "removed"
                        : "left";
                    group.Ready = false;
                    group.Waiting = null;
                    group.SetMember(member.PeerId, member.Name, false);
                    // A removal's error line, just before, says by whom; a leave is said here.
                    var how = member.Reason == MemberEvent.Removed ? $"no longer a member of {group.Name}" : $"you left {group.Name}";
                    group.Lines.Add(new ChatLine(now, null,
                        $"{how}: nothing of it is received or sent now; its history stays here to read. /close closes it, /join {group.Name} asks to join again",
                        ChatLineKind.System));
                    break;
                }

            case MemberEvent member:
                {
                    var group = Group(member.Group);
                    group.SetMember(member.PeerId, member.Name, member.Joined);
                    group.Relabel();
                    // A member going takes the place of what was said just before of its link (lost, reconnecting).
                    Tell(group, new ChatLine(now, null, TerminalText.OneLine(Said(member)), ChatLineKind.System)
                        { Topic = member.Joined ? null : "link:" + TerminalText.OneLine(member.Name) });
                    break;
                }

            case WaitingEvent waiting:
                {
                    var group = Group(waiting.Group);
                    group.Waiting = waiting.Message;
                    group.WasWaiting = true;
                    if (EtcdState == "connecting")
                    {
                        // Waiting on members means etcd answered.
                        EtcdState = "etcd connected";
                    }

                    group.Lines.Add(new ChatLine(now, null, waiting.Message, ChatLineKind.System));
                    break;
                }

            case InviteEvent invite:
                // Said where the user typed /invite: only this screen shows it, nothing goes to the group.
                Say(string.Create(CultureInfo.InvariantCulture,
                    $"invite to {invite.Group} (only you see this; single use, until {invite.ExpiresAt.ToLocalTime():yyyy-MM-dd HH:mm}; the invitee types /accept CODE):\n{invite.Code}"), now);
                break;

            case KindEvent kind when Group(kind.Group).ById.TryGetValue(kind.Target, out var target) && target.DeletedBy is null:
                {
                    var changes = target.Changes;
                    switch (kind)
                    {
                        case EditEvent edit:
                            changes.Text = TerminalText.Safe(edit.Text, "  ");
                            changes.Mentions = target.Kind == ChatLineKind.Own ? [] : Mentions.Find(changes.Text, Name);
                            changes.Edited = true;
                            break;
                        case DeleteEvent delete:
                            changes.Text = "";
                            changes.Mentions = [];
                            changes.DeletedBy = TerminalText.OneLine(delete.From);
                            changes.Reactions.Clear();
                            break;
                        case ReactionEvent reaction:
                            React(changes.Reactions, reaction.Emoji, TerminalText.OneLine(reaction.From), reaction.Removed);
                            break;
                    }

                    break;
                }

            case HistoryProgressEvent progress:
                Group(progress.Group).Loaded = progress.Loaded;
                break;

            case ConnectionEvent { Kind: ConnectionKind.Etcd } connection:
                EtcdState = connection.State switch
                {
                    ConnectionState.Disconnected => "etcd unreachable",
                    ConnectionState.Reconnecting when connection.RetryIn is { } retry =>
                        string.Create(CultureInfo.InvariantCulture, $"etcd unreachable — retrying in {Math.Max(1, Math.Round(retry.TotalSeconds))} s"),
                    ConnectionState.Reconnecting => "etcd unreachable — retrying",
                    _ => "etcd reconnected",
                };
                // The loss itself is told by the session's error line, which names the endpoint.
                if (connection.State == ConnectionState.Reconnected)
                {
                    Say("etcd reconnected", now);
                    _reconnectedAt = now;
                }

                break;

            case ConnectionEvent link:
                Tell(Shown, new ChatLine(now, null, link.State switch
                {
                    ConnectionState.Disconnected => $"link to {link.Target} lost",
                    ConnectionState.Reconnecting => $"reconnecting to {link.Target}…",
                    _ => $"link to {link.Target} back",
                }, ChatLineKind.System) { Topic = "link:" + TerminalText.OneLine(link.Target) });
                break;

            case LinkHealthEvent health:
                Health.Clear();
                foreach (var entry in health.Members)
                {
                    Health[entry.PeerId] = (entry.Link, entry.Rtt);
                }

                break;

            case LinksEvent links:
                LinksConnected = links.Connected;
                LinksKnown = links.Known;
                if (EtcdState == "connecting")
                {
                    EtcdState = "etcd connected";
                }

                break;

            case InfoEvent info:
                SayIn(info.Group, TerminalText.OneLine(info.Message), now);
                if (info.HistoryResumed && EtcdState == HistoryWriter.FullMessage)
                {
                    EtcdState = "etcd connected";
                }

                break;

            case ErrorEvent error:
                SayIn(error.Group, "! " + TerminalText.OneLine(error.Message), now);
                if (error.HistoryPaused == true && error.Message.StartsWith(HistoryWriter.FullMessage, StringComparison.Ordinal))
                {
                    EtcdState = HistoryWriter.FullMessage;
                }
                else if (error.HistoryPaused == false && EtcdState == HistoryWriter.FullMessage)
                {
                    EtcdState = "etcd connected";
                }

                break;
        }

        if (e is ReadyEvent && EtcdState == "connecting")
        {
            EtcdState = "etcd connected";
        }
    }

    /// <summary>A reply's one-line quote of what it answers: its sender and the start of its text.</summary>
    private static string QuoteOf(GroupView group, string id)
    {
        if (!group.ById.TryGetValue(id, out var target))
        {
            return "a message you cannot see";
        }

        if (target.DeletedBy is not null)
        {
            return $"{target.From}: a deleted message";
        }

        var text = target.Shown.Replace('\n', ' ');
        return $"{target.From}: {(text.Length > 60 ? text[..59] + "…" : text)}";
    }

    /// <summary>At most this many different reactions on one message (<see cref="KindText.MaxReactions"/>).</summary>
    public const int MaxReactions = KindText.MaxReactions;

    /// <summary>Adds <paramref name="from"/>'s <paramref name="emoji"/> to the reactions, or takes it back.</summary>
    private static void React(List<(string Emoji, List<string> From)> reactions, string emoji, string from, bool removed)
    {
        var index = reactions.FindIndex(r => r.Emoji == emoji);
        if (removed)
        {
            if (index >= 0 && reactions[index].From.Remove(from) && reactions[index].From.Count == 0)
            {
                reactions.RemoveAt(index);
            }
        }
        else if (index < 0 && reactions.Count < MaxReactions)
        {
            reactions.Add((emoji, [from]));
        }
        else if (index >= 0 && !reactions[index].From.Contains(from) && reactions[index].From.Count < KindText.MaxReactors)
        {
            reactions[index].From.Add(from);
        }
    }

    /// <summary>Where a message goes: after every message whose key sorts before it, so that the screen shows the
    /// group's one order (a message that came late over a slow link takes its place, up to a few hundred lines back).
    /// Mesh's own lines stay where they were said.</summary>
    private static int PlaceOf(List<ChatLine> lines, string key)
    {
        var at = lines.Count;
        for (var looked = 0; at > 0 && looked < 500 && key.Length > 0; looked++)
        {
            var before = lines[at - 1];
            if (before.Kind == ChatLineKind.System || string.CompareOrdinal(before.Key, key) <= 0)
            {
                break;
            }

            at--;
        }

        return at;
    }

    /// <summary>A member coming or going, in words that tell a signed leave, a removal, a clean exit and a crash apart.</summary>
    public static string Said(MemberEvent member) =>
        member.Joined ? $"{member.Name} joined"
        : member.Reason switch
        {
            MemberEvent.Left => $"{member.Name} left the group",
            MemberEvent.Removed => $"{member.Name} was removed from the group",
            MemberEvent.Exited => $"{member.Name} went offline",
            MemberEvent.Expired => $"{member.Name} lost (lease expired: crashed or cut off)",
            _ => $"{member.Name} left",
        };

    /// <summary>The status bar: who I am, where I am, and how the connections are.</summary>
    /// <param name="shortFingerprint">A narrow screen shows the fingerprint's first group only.</param>
    /// <param name="compact">A very narrow screen (about 50 columns) says each part in as few words as it can.</param>
    public string StatusLine(bool shortFingerprint = false, bool compact = false)
    {
        var group = Current;
        var place = group is null ? "no group"
            : group.Gone is { } gone ? $"{group.Name} (not a member: {gone})"
            : group.Waiting is { } waiting ? $"{group.Name} ({(waiting.Contains("admit", StringComparison.Ordinal) ? "waiting to be admitted" : "waiting for the key")})"
            : !group.Ready && group.Loaded > 0 ? string.Create(CultureInfo.InvariantCulture, $"{group.Name} (loading history: {group.Loaded:N0})")
            : !group.Ready ? $"{group.Name} (joining…)"
            : group.Name;
        var leaving = Leaving ? " | leaving…" : "";
        var links = LinksKnown == 0 ? compact ? "alone" : "no other member online"
            : compact ? $"{LinksConnected}/{LinksKnown} peers" : $"{LinksConnected}/{LinksKnown} peers connected";
        var fingerprint = shortFingerprint || compact ? Fingerprint.Split(':')[0] : Fingerprint;
        var etcd = !compact ? EtcdState
            : EtcdState switch
            {
                "etcd connected" => "etcd ok",
                "etcd reconnected" => "etcd back",
                var state when state.StartsWith("etcd unreachable", StringComparison.Ordinal) => "etcd down" + state["etcd unreachable".Length..].Replace(" — retrying in", ", retry"),
                var state => state,
            };
        return $" {Name} [{fingerprint}] | {place} | {etcd} | {links}{leaving}";
    }
}
