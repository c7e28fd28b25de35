using System.Globalization;
using Mesh.Coordinator;
using Mesh.Coordinator.History;
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
            view = new GroupView(group) { Away = _groups.Count > 0 };
            _groups.Add(view);
        }

        return view;
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
    public void Say(string text, DateTimeOffset at)
    {
        if (Current is { } group)
        {
            group.Lines.Add(new ChatLine(at, null, text, ChatLineKind.System));
        }
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
                    var line = new ChatLine(message.SentAt, TerminalText.OneLine(message.From), text,
                        message.Own ? ChatLineKind.Own : ChatLineKind.Message) { Key = message.Key, Mentions = mentions };
                    var at = PlaceOf(group.Lines, line.Key);
                    group.Lines.Insert(at, line);
                    if (group.MarkerIndex >= at)
                    {
                        group.MarkerIndex++;
                    }

                    // Live messages from others: history loaded at join is not news.
                    if (message.Own || !group.Ready)
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

                    break;
                }

            case MemberEvent member when !member.Joined && (PeerId is { } me ? member.PeerId == me : member.Name == Name):
                {
                    // This peer left the group (/leave): it goes from the list.
                    var index = _groups.FindIndex(g => g.Name == member.Group);
                    if (index >= 0)
                    {
                        _groups.RemoveAt(index);
                        CurrentIndex = Math.Clamp(CurrentIndex > index ? CurrentIndex - 1 : CurrentIndex, 0, Math.Max(0, _groups.Count - 1));
                        Say($"left {member.Group}", now);
                    }

                    break;
                }

            case MemberEvent member:
                {
                    var group = Group(member.Group);
                    group.SetMember(member.PeerId, member.Name, member.Joined);
                    group.Lines.Add(new ChatLine(now, null, TerminalText.OneLine(Said(member)), ChatLineKind.System));
                    break;
                }

            case WaitingEvent waiting:
                {
                    var group = Group(waiting.Group);
                    group.Waiting = waiting.Message;
                    group.WasWaiting = true;
                    group.Lines.Add(new ChatLine(now, null, waiting.Message, ChatLineKind.System));
                    break;
                }

            case InviteEvent invite:
                // Said where the user typed /invite: only this screen shows it, nothing goes to the group.
                Say(string.Create(CultureInfo.InvariantCulture,
                    $"invite to {invite.Group} (only you see this; single use, until {invite.ExpiresAt.ToLocalTime():yyyy-MM-dd HH:mm}): {invite.Code}"), now);
                break;

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
                Say(link.State switch
                {
                    ConnectionState.Disconnected => $"link to {link.Target} lost",
                    ConnectionState.Reconnecting => $"reconnecting to {link.Target}…",
                    _ => $"link to {link.Target} back",
                }, now);
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
                Say(TerminalText.OneLine(info.Message), now);
                if (info.HistoryResumed && EtcdState == HistoryWriter.FullMessage)
                {
                    EtcdState = "etcd connected";
                }

                break;

            case ErrorEvent error:
                Say("! " + TerminalText.OneLine(error.Message), now);
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
    public string StatusLine(bool shortFingerprint = false)
    {
        var group = Current;
        var place = group is null ? "no group"
            : group.Waiting is not null ? $"{group.Name} (waiting for the key)"
            : !group.Ready && group.Loaded > 0 ? string.Create(CultureInfo.InvariantCulture, $"{group.Name} (loading history: {group.Loaded:N0})")
            : !group.Ready ? $"{group.Name} (joining…)"
            : group.Name;
        var leaving = Leaving ? " | leaving…" : "";
        var links = LinksKnown == 0 ? "no other member online" : $"{LinksConnected}/{LinksKnown} peers connected";
        var fingerprint = shortFingerprint ? Fingerprint.Split(':')[0] : Fingerprint;
        return $" {Name} [{fingerprint}] | {place} | {EtcdState} | {links}{leaving}";
    }
}
