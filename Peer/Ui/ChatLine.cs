namespace Mesh.Peer.Ui;

/// <summary>One entry of a group's view: a message, or a line from Mesh itself (joins, errors, help).</summary>
public sealed record ChatLine(DateTimeOffset At, string? From, string Text, ChatLineKind Kind)
{
    /// <summary>A message's history key (empty for Mesh's own lines): messages are listed by it.</summary>
    public string Key { get; init; } = "";

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
