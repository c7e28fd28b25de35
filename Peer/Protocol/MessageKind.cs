using System.Globalization;
using System.Text;

namespace Mesh.Peer.Protocol;

/// <summary>What a message does besides saying something: answer one, react to one, take a reaction back, edit or
/// delete one.</summary>
public enum MessageKind
{
    Reply,
    React,
    Unreact,
    Edit,
    Delete,
}

/// <summary>A message of a kind (<see cref="MessageKind"/>) about the message <paramref name="Target"/> (its id, as
/// <see cref="Envelope.Id"/> prints it), with its content: the reply's or the edit's text, the emoji, nothing for a
/// delete.</summary>
/// <remarks>It travels as the text of an ordinary sealed, signed message (so it is in the group's history, in its
/// order, counted by retention and repaired like any message): <see cref="KindText.Marker"/>, the kind's word, the
/// target and the content. A peer that does not know kinds shows that text as a plain line that says what it is.</remarks>
public sealed record KindRecord(MessageKind Kind, string Target, string Content);

/// <summary>Writes and reads <see cref="KindRecord"/>s in a message's text, and checks message ids and emoji.</summary>
public static class KindText
{
    /// <summary>Starts the text of a message of a kind (U+001E, the record separator): no typed text starts so.</summary>
    public const char Marker = '\u001E';

    /// <summary>At most this many different reactions are kept on one message, and names under each: a member
    /// reacting without end costs every view a bounded row.</summary>
    public const int MaxReactions = 32;

    /// <summary>At most this many names are kept under one reaction.</summary>
    public const int MaxReactors = 128;

    /// <summary>An emoji (or any short reaction) takes at most this many bytes of UTF-8: a family with skin tones fits.</summary>
    public const int MaxReactionBytes = 64;

    private static readonly (MessageKind Kind, string Word)[] Words =
    [
        (MessageKind.Reply, "reply"), (MessageKind.React, "react"), (MessageKind.Unreact, "unreact"),
        (MessageKind.Edit, "edit"), (MessageKind.Delete, "delete"),
    ];

    /// <summary>The word a kind is written with (<c>/react</c> is its command too).</summary>
    public static string WordOf(MessageKind kind) => Words.First(w => w.Kind == kind).Word;

    public static string Encode(KindRecord record) => $"{Marker}/{WordOf(record.Kind)} {record.Target} {record.Content}";

    /// <summary>Whether a message's text is that of a kind (known or not).</summary>
    public static bool IsKind(string text) => text.Length > 1 && text[0] == Marker && text[1] == '/';

    /// <summary>The record a message's text holds; null when it holds none, names no kind this peer knows, or is
    /// malformed (a bad id, an empty emoji, an empty reply).</summary>
    public static KindRecord? TryParse(string text)
    {
        if (!IsKind(text))
        {
            return null;
        }

        var parts = text[2..].Split(' ', 3);
        if (parts.Length < 2 || !IsId(parts[1]))
        {
            return null;
        }

        var kind = Words.FirstOrDefault(w => w.Word == parts[0]);
        if (kind.Word is null)
        {
            return null;
        }

        var content = parts.Length > 2 ? parts[2] : "";
        var valid = kind.Kind switch
        {
            MessageKind.React or MessageKind.Unreact => IsReaction(content),
            MessageKind.Reply or MessageKind.Edit => content.Trim().Length > 0,
            _ => content.Length == 0,
        };
        return valid ? new KindRecord(kind.Kind, parts[1], content) : null;
    }

    /// <summary>How a peer shows a message of a kind it does not know (or a malformed one): a plain line that says
    /// what it is, never the raw record.</summary>
    public static string Describe(string text)
    {
        var word = text.Length > 2 ? text[2..].Split(' ', 2)[0] : "";
        var shown = word.Length is > 0 and <= 16 && word.All(char.IsAsciiLetterLower) ? $"'{word}'" : "an unknown kind";
        return $"[a message of {shown} that this Mesh cannot show; a newer Mesh shows it]";
    }

    /// <summary>A message id as <see cref="Envelope.Id"/> prints it: a peer id, its run and the position.</summary>
    public static bool IsId(string id)
    {
        var parts = id.Split(':');
        return parts.Length == 3 && parts[0].Length == Identity.PeerIdentity.PeerIdLength && parts[0].All(char.IsAsciiHexDigitLower)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)
            && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var seq) && seq > 0;
    }

    /// <summary>The sender, run and position an id names (see <see cref="IsId"/>).</summary>
    public static (string PeerId, long Run, long Seq) PartsOf(string id)
    {
        var parts = id.Split(':');
        return (parts[0], long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    /// <summary>Whether <paramref name="reaction"/> can be a reaction: not empty, no space or control character, at
    /// most <see cref="MaxReactionBytes"/> bytes.</summary>
    public static bool IsReaction(string reaction) =>
        reaction.Length > 0 && Encoding.UTF8.GetByteCount(reaction) <= MaxReactionBytes
        && !reaction.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));
}
