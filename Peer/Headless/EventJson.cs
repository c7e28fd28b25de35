using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Mesh.Peer.Session;

namespace Mesh.Peer.Headless;

/// <summary>The headless contract's JSON shape of each event: one object per line.</summary>
public static class EventJson
{
    private static readonly JsonWriterOptions Options = new()
    {
        // Non-ASCII text stays readable; the output is JSON lines, never embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>UTC with milliseconds, e.g. 2026-11-24T12:00:00.123Z.</summary>
    public static string FormatTime(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Whether an event is part of the headless contract (progress and link counts are for the TUI).</summary>
    public static bool IsWritten(MeshEvent e) => e is not (HistoryProgressEvent or LinksEvent or LinkHealthEvent);

    public static void Write(IBufferWriter<byte> output, MeshEvent e)
    {
        using var w = new Utf8JsonWriter(output, Options);
        w.WriteStartObject();
        switch (e)
        {
            case ReadyEvent ready:
                w.WriteString("type", "ready");
                w.WriteString("group", ready.Group);
                w.WriteStartArray("members");
                foreach (var member in ready.Members)
                {
                    w.WriteStringValue(member);
                }

                w.WriteEndArray();
                if (ready.Peers is { } peers)
                {
                    w.WriteStartArray("peers");
                    foreach (var peer in peers)
                    {
                        w.WriteStartObject();
                        w.WriteString("name", peer.Name);
                        w.WriteString("peer", peer.PeerId);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                }

                break;
            case MembersEvent members:
                w.WriteString("type", "members");
                w.WriteString("group", members.Group);
                w.WriteNumber("epoch", members.Epoch);
                w.WriteStartArray("members");
                foreach (var m in members.Members)
                {
                    w.WriteStartObject();
                    w.WriteString("name", m.Name);
                    w.WriteString("peer", m.PeerId);
                    w.WriteBoolean("online", m.Online);
                    w.WriteString("role", m.Role);
                    w.WriteString("link", m.Link);
                    if (m.Rtt is { } rtt)
                    {
                        w.WriteNumber("rtt_ms", Math.Round(rtt.TotalMilliseconds, 2));
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
                break;
            case MessageEvent message:
                WriteMessage(w, message.Group, message.Id, message.From, message.Text, message.SentAt, message.Key);
                if (message.ReplyTo is { } replyTo)
                {
                    w.WriteString("reply_to", replyTo);
                }

                if (message.Deleted is { } deleted)
                {
                    WriteDeleted(w, deleted.From, deleted.SentAt);
                }

                break;
            case KindEvent kind:
                w.WriteString("type", kind switch { ReactionEvent => "reaction", EditEvent => "edit", _ => "delete" });
                w.WriteString("group", kind.Group);
                w.WriteString("id", kind.Id);
                w.WriteString("target", kind.Target);
                w.WriteString("from", kind.From);
                switch (kind)
                {
                    case ReactionEvent reaction:
                        w.WriteString("emoji", reaction.Emoji);
                        w.WriteBoolean("removed", reaction.Removed);
                        break;
                    case EditEvent edit:
                        w.WriteString("text", edit.Text);
                        break;
                }

                w.WriteString("sent_at", FormatTime(kind.SentAt));
                if (kind.Key.Length > 0)
                {
                    w.WriteString("key", kind.Key);
                }

                break;
            case MemberEvent member:
                w.WriteString("type", member.Joined ? "joined" : "left");
                w.WriteString("group", member.Group);
                w.WriteString("name", member.Name);
                w.WriteString("peer", member.PeerId);
                if (member.Reason is { } reason)
                {
                    w.WriteString("reason", reason);
                }

                break;
            case WaitingEvent waiting:
                w.WriteString("type", "waiting");
                w.WriteString("group", waiting.Group);
                w.WriteString("message", waiting.Message);
                break;
            case InviteEvent invite:
                w.WriteString("type", "invite");
                w.WriteString("group", invite.Group);
                w.WriteString("code", invite.Code);
                w.WriteString("expires", FormatTime(invite.ExpiresAt));
                break;
            case ConnectionEvent connection:
                w.WriteString("type", connection.State switch
                {
                    ConnectionState.Disconnected => "disconnected",
                    ConnectionState.Reconnecting => "reconnecting",
                    _ => "reconnected",
                });
                w.WriteString("target", connection.Target);
                w.WriteString("kind", connection.Kind == ConnectionKind.Etcd ? "etcd" : "member");
                if (connection.RetryIn is { } retry)
                {
                    w.WriteNumber("retry_in_ms", (long)retry.TotalMilliseconds);
                }

                break;
            case ErrorEvent error:
                w.WriteString("type", "error");
                w.WriteString("message", error.Message);
                break;
            case InfoEvent info:
                w.WriteString("type", "info");
                if (info.Group is { } group)
                {
                    w.WriteString("group", group);
                }

                w.WriteString("message", info.Message);
                break;
        }

        w.WriteEndObject();
    }

    /// <summary>The fields of a message line, shared by the live events and <c>mesh history --json</c>.</summary>
    /// <remarks><c>key</c> is the message's history key: sorting by it gives the group's one order (causal: a reply
    /// sorts after what it answers, whatever the clocks), the order of <c>mesh history</c> and of a late joiner.</remarks>
    public static void WriteMessage(Utf8JsonWriter w, string group, string id, string from, string text, DateTimeOffset sentAt, string key)
    {
        w.WriteString("type", "message");
        w.WriteString("group", group);
        w.WriteString("id", id);
        w.WriteString("from", from);
        w.WriteString("text", text);
        w.WriteString("sent_at", FormatTime(sentAt));
        if (key.Length > 0)
        {
            w.WriteString("key", key);
        }
    }

    /// <summary>A deleted message's fields: <c>deleted</c>, by whom, when.</summary>
    public static void WriteDeleted(Utf8JsonWriter w, string by, DateTimeOffset at)
    {
        w.WriteBoolean("deleted", true);
        w.WriteString("deleted_by", by);
        w.WriteString("deleted_at", FormatTime(at));
    }

    public static string ToLine(MeshEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Write(buffer, e);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
