namespace Mesh.Peer.Ui;

/// <summary>One entry of a group's view: a message, or a line from Mesh itself (joins, errors, help).</summary>
public sealed record ChatLine(DateTimeOffset At, string? From, string Text, ChatLineKind Kind)
{
    /// <summary>A message's history key (empty for Mesh's own lines): messages are listed by it.</summary>
    public string Key { get; init; } = "";

    /// <summary>The sender's peer id, when known: its label follows the group's (<c>amy</c>, <c>amy#70d9</c>).</summary>
    public string? PeerId { get; init; }

    /// <summary>A message's id (reactions, edits and deletes name it).</summary>
    public string? Id { get; init; }

    /// <summary>For a reply: a one-line quote of what it answers (sender and the start of its text).</summary>
    public string? Quote { get; init; }

    /// <summary>What reactions, edits and deletes did to the message since (shared by the copies a relabel makes, so
    /// that one is found by id and changed in place, at no cost per line).</summary>
    public LineChanges Changes { get; init; } = new();

    /// <summary>Set once the author gave the message a new text.</summary>
    public bool Edited => Changes.Edited;

    /// <summary>Set once the message was deleted: by whom.</summary>
    public string? DeletedBy => Changes.DeletedBy;

    /// <summary>Its reactions: each emoji with who gave it.</summary>
    public IReadOnlyList<(string Emoji, List<string> From)> Reactions => Changes.Reactions;

    /// <summary>The text shown: the newest edit's, or the message's own.</summary>
    public string Shown => Changes.Text ?? Text;

    /// <summary>How many times in a row Mesh said this line (shown as <c>(×3)</c>).</summary>
    public int Repeats { get; init; } = 1;

    /// <summary>What a line of Mesh's is about (<c>link:bo</c>): a newer line about the same thing, said right after
    /// it, takes its place instead of piling up.</summary>
    public string? Topic { get; init; }

    /// <summary>Where <see cref="Text"/> names me (see <see cref="Ui.Mentions"/>): drawn highlighted.</summary>
    public IReadOnlyList<(int Start, int Length)> Mentions { get; init; } = [];

    /// <summary>A message that starts so is an action (<c>/me waves</c> shows as <c>* amy waves</c>).</summary>
    public const string ActionPrefix = "/me ";
}

public enum ChatLineKind
{
    /// <summary>A message from another member.</summary>
    Message,

    /// <summary>A message this peer sent: shown set apart.</summary>
    Own,

    /// <summary>Something Mesh tells the user (a join, a leave, help, an error).</summary>
    System,
}

/// <summary>The changes a message went through: a new text, a delete, reactions (UI thread only).</summary>
public sealed class LineChanges
{
    public string? Text { get; set; }

    public IReadOnlyList<(int Start, int Length)>? Mentions { get; set; }

    public bool Edited { get; set; }

    public string? DeletedBy { get; set; }

    public List<(string Emoji, List<string> From)> Reactions { get; } = [];
}
