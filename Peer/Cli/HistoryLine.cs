using System.Globalization;
using Mesh.Coordinator;
using Mesh.Peer.Protocol;
using Mesh.Peer.Ui;

namespace Mesh.Peer.Cli;

/// <summary>A message as <c>mesh history</c> prints it for a person: its time (local, or UTC when asked), who, and the
/// text, with <c>/me</c> as an action and every further line of the text under its first.</summary>
internal static class HistoryLine
{
    /// <param name="e">The message.</param>
    /// <param name="utc">UTC, marked as such; otherwise the time in <paramref name="zone"/>.</param>
    /// <param name="zone">The local time zone (the machine's unless given).</param>
    public static string Format(Envelope e, bool utc, TimeZoneInfo? zone = null)
    {
        var at = utc ? e.SentAt.UtcDateTime : TimeZoneInfo.ConvertTime(e.SentAt, zone ?? TimeZoneInfo.Local).DateTime;
        var stamp = at.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + (utc ? " UTC" : "");
        // Texts and names come from other peers: no control character of theirs reaches the terminal.
        var from = TerminalText.OneLine(e.From);
        var action = e.Text.StartsWith(ChatLine.ActionPrefix, StringComparison.Ordinal) && e.Text.Length > ChatLine.ActionPrefix.Length;
        var head = action ? $"{stamp}  * {from} " : $"{stamp}  {from}: ";
        var text = action ? e.Text[ChatLine.ActionPrefix.Length..] : e.Text;
        // Further lines start under the first line's text: still indented, so none can pass for a line of its own.
        return head + TerminalText.Safe(text, new string(' ', head.Length)) + "\n";
    }
}
