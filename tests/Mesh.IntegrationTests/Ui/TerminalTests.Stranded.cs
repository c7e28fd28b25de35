using System.Text.RegularExpressions;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Ui;

/// <summary>The chat screen in a real terminal when the user is removed, types fast, copies text, invites and
/// restarts (issue 32).</summary>
public sealed partial class TerminalTests
{
    [Test]
    public async Task Removed_the_screen_says_who_keeps_the_history_readable_answers_every_line_and_no_fast_key_goes_astray()
    {
        var (group, other) = (NewGroup("strand"), NewGroup("other"));
        var hal = StartPeer("hal", group, other);
        await hal.WaitReadyAsync(group);
        await hal.WaitReadyAsync(other);
        await hal.SendAsync("said before the removal");
        var cy = StartTui("cy", [group, other]);
        await cy.WaitForScreenAsync(s => s.Contains("said before the removal") && s.Contains($"| {group} |") && s.Contains("● hal"), Long, "ready with hal");

        // Alt+2 and a command in one write: the switch comes first and every key of the command arrives.
        cy.Burst("M-2", "/members", "Enter");
        await cy.WaitForScreenAsync(s => s.Contains($"online in {other}"), Long, "/members answered for the group Alt+2 showed");
        cy.Burst("M-1", "hello from cy", "Enter");
        await hal.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "hello from cy"), Long, "the line in the group Alt+1 showed");
        Assert.That(hal.Messages(other).Select(m => m.Str("text")), Has.None.Contains("hello"), "nothing of it in the other group");

        await hal.SendAsync("/remove cy");
        // The status bar says so too (cut at the screen's edge after the long group name: its start is enough).
        var removed = await cy.WaitForScreenAsync(s => s.Contains("you were removed from") && s.Contains("by hal") && s.Contains("no longer a member of")
            && s.Contains("(not a member"), Long, "the removal said, with who, and on the status bar");
        Save(cy, "removed");
        Assert.That(removed, Does.Contain("said before the removal"), "the history stays readable");

        cy.Type("anyone still here?");
        cy.Press("Enter");
        await cy.WaitForScreenAsync(s => s.Contains("! you are no longer a member of"), Long, "a line typed there is answered, not sent");

        cy.Press("F3");
        var plain = await cy.WaitForScreenAsync(s => !s.Contains('│') && s.Contains("said before the removal"), Long, "the plain view");
        Save(cy, "plain");
        Assert.That(plain.Split('\n').First(r => r.Contains("said before the removal")), Does.StartWith(""), "bare lines");
        Assert.That(plain, Does.Not.Contain("Members"), "no panels");
        cy.Press("F3");
        await cy.WaitForScreenAsync(s => s.Contains("Members"), Long, "the screen back");

        cy.Type("/close");
        cy.Press("Enter");
        await cy.WaitForScreenAsync(s => s.Contains($"| {other} |"), Long, "closed: the other group shown");
        cy.Type("/leave");
        cy.Press("Enter");
        await cy.WaitForScreenAsync(s => s.Contains("you left"), Long, "the leave said in the group's view");
        cy.Type("/close");
        cy.Press("Enter");
        await cy.WaitForScreenAsync(s => s.Contains("no group: /join G"), Long, "the last view closed");
        cy.Type("/nosuch");
        cy.Press("Enter");
        var alone = await cy.WaitForScreenAsync(s => s.Contains("unknown command '/nosuch'"), Long, "with no group, a line still gets an answer");
        Save(cy, "no-group");
        Assert.That(alone, Does.Contain("no group: /join G"));
        await hal.WaitForAsync(p => p.Of("left", other).Any(e => e.Str("name") == "cy"), Long, "cy left the other group cleanly");
        Assert.That(hal.Messages(group).Select(m => m.Str("text")), Has.None.EqualTo("anyone still here?"), "nothing typed after the removal was sent");
    }

    [GeneratedRegex(@"mesh3\.[A-Za-z0-9_-]{40,}")]
    private static partial Regex InviteCode();

    [Test]
    public async Task A_private_group_an_invite_and_its_use_all_from_the_screen_and_unread_counts_survive_a_restart()
    {
        var (lobby, secret) = (NewGroup("lobby"), NewGroup("secret"));
        var hal = StartPeer("hal", lobby);
        await hal.WaitReadyAsync(lobby);
        var amy = StartTui("amy", [lobby], width: 200);
        var boHome = Path.Combine(Path.GetTempPath(), $"mesh-home-bo-{Guid.NewGuid():N}");
        var bo = StartTui("bo", [lobby], width: 200, home: boHome);
        await amy.WaitForScreenAsync(s => s.Contains($"| {lobby} |") && s.Contains("● hal"), Long, "amy ready");
        await bo.WaitForScreenAsync(s => s.Contains($"| {lobby} |") && s.Contains("● hal"), Long, "bo ready");

        amy.Type($"/join {secret} --private");
        amy.Press("Enter");
        var asked = await amy.WaitForScreenAsync(s => s.Contains($"| {secret} |") || s.Contains("again within a minute to create it"), Long, "the group created or the question");
        if (!asked.Contains($"| {secret} |"))
        {
            amy.Type($"/join {secret} --private");
            amy.Press("Enter");
        }

        await amy.WaitForScreenAsync(s => s.Contains($"| {secret} |"), Long, "the private group created and shown");
        amy.Type("the secret plan");
        amy.Press("Enter");
        await amy.WaitForScreenAsync(s => s.Contains("amy: the secret plan"), Long, "amy's message");
        amy.Type("/invite");
        amy.Press("Enter");
        var invited = await amy.WaitForScreenAsync(s => InviteCode().IsMatch(s), Long, "the invite code, shown to amy");
        Save(amy, "invite");
        var code = InviteCode().Match(invited).Value;

        bo.Type($"/accept {code}");
        bo.Press("Enter");
        var joined = await bo.WaitForScreenAsync(s => s.Contains($"| {secret} |") && s.Contains("the secret plan"), Long, "bo in the private group, its history shown");
        Save(bo, "accepted");
        Assert.That(joined, Does.Not.Contain(code), "the code is not in any message bo sees");
        await amy.WaitForScreenAsync(s => s.Contains("bo joined"), Long, "amy sees bo join");
        Assert.That(hal.Messages(lobby).Select(m => m.Str("text")), Has.None.Contains("mesh3."), "no code reached the lobby");

        // bo looks at the private group; two messages come in the lobby: unread there.
        await hal.SendAsync("lobby news one");
        await hal.SendAsync("lobby news two");
        await bo.WaitForScreenAsync(s => Regex.IsMatch(s, @"1 lobby\S* \(2\)"), Long, "two unread in the lobby");
        bo.Press("C-q");
        await bo.WaitForExitAsync(Long);
        var again = StartTui("bo", [secret, lobby], width: 200, home: boHome);
        var restarted = await again.WaitForScreenAsync(s => s.Contains($"| {secret} |") && Regex.IsMatch(s, @"2 lobby\S* \(2\)"), Long,
            "the unread count after the restart");
        Save(again, "restarted");
        again.Press("M-2");
        var marked = await again.WaitForScreenAsync(s => s.Contains("new since you last looked"), Long, "the read marker where bo left off");
        var rows = marked.Split('\n').ToList();
        var marker = rows.FindIndex(r => r.Contains("new since you last looked"));
        Assert.That(rows.FindIndex(r => r.Contains("lobby news one")), Is.GreaterThan(marker), "the marker above the first unread");
        Assert.That(restarted, Does.Not.Contain("No such"));
    }

    [Test]
    public async Task On_the_screen_a_selected_message_is_replied_to_reacted_to_edited_and_deleted()
    {
        var (group, hal, tina) = await HalAndScreenAsync("kinds", "tina");
        await hal.SendAsync("lunch at 12?");
        await tina.WaitForScreenAsync(s => s.Contains("hal: lunch at 12?"), Long, "hal's question");
        tina.Type("typo here");
        tina.Press("Enter");
        await hal.WaitForAsync(p => p.Messages(group).Count == 2, Long, "tina's message");
        var question = hal.Messages(group)[0].Str("id");

        // Alt+Up selects the newest (tina's own): it is edited, then deleted.
        await SelectOlderAsync(tina, "selected tina: typo here", "the newest message selected");
        tina.Type("/edit typo fixed");
        tina.Press("Enter");
        await tina.WaitForScreenAsync(s => s.Contains("tina: typo fixed (edited)"), Long, "the edit marked");
        await SelectOlderAsync(tina, "selected tina: typo fixed", "selected again");
        tina.Type("/delete");
        tina.Press("Enter");
        await tina.WaitForScreenAsync(s => s.Contains("message deleted by tina"), Long, "the delete said");

        // Alt+Up twice: past the deleted one to hal's question; a reaction and a reply.
        await SelectOlderAsync(tina, "selected hal: lunch at 12?", "hal's question selected, the deleted one passed over");
        tina.Type("/react +1");
        tina.Press("Enter");
        await tina.WaitForScreenAsync(s => s.Contains("+1 1 tina"), Long, "the reaction under the message");
        await SelectOlderAsync(tina, "selected hal: lunch at 12?", "selected for the reply");
        tina.Type("/reply yes, at noon");
        tina.Press("Enter");
        var screen = await tina.WaitForScreenAsync(s => s.Contains("↪ hal: lunch at 12?") && s.Contains("tina: yes, at noon"), Long, "the reply with its quote");
        Save(tina, "kinds");

        await hal.WaitForAsync(p => p.Messages(group).Any(m => m.Str("reply_to") == question), Long, "hal gets the reply, naming the question");
        Assert.That(hal.Of("reaction", group).Select(r => (r.Str("target"), r.Str("emoji"))), Is.EqualTo(new[] { (question, "+1") }));
        Assert.That(hal.Of("edit", group).Select(e => e.Str("text")), Is.EqualTo(new[] { "typo fixed" }));
        Assert.That(hal.Of("delete", group), Has.Count.EqualTo(1));
        Assert.That(screen, Does.Not.Contain("typo fixed"), "the deleted text is gone from the screen");
    }

    [Test]
    public async Task On_the_screen_a_direct_message_opens_a_conversation_listed_with_the_groups()
    {
        var (group, hal, tina) = await HalAndScreenAsync("direct", "tina");
        tina.Type("/msg hal just between us");
        tina.Press("Enter");
        await hal.WaitForAsync(p => p.Messages("@tina").Any(m => m.Str("text") == "just between us"), Long, "hal reads it in his conversation with tina");
        Assert.That(hal.Messages(group).Select(m => m.Str("text")), Has.None.EqualTo("just between us"), "not in the shared group");
        await tina.WaitForScreenAsync(s => s.Contains("@hal"), Long, "the conversation listed with the groups");

        await hal.SendAsync("/msg tina noted");
        tina.Type("/switch @hal");
        tina.Press("Enter");
        var screen = await tina.WaitForScreenAsync(s => s.Contains("tina: just between us") && s.Contains("hal: noted"), Long, "both lines in the conversation");
        Save(tina, "direct");
        Assert.That(screen, Does.Contain("@hal"));
    }

    /// <summary>Alt+Up on the screen, and the status bar naming the message it selected.</summary>
    private static Task<string> SelectOlderAsync(TmuxTerminal screen, string selected, string what)
    {
        screen.Press("M-Up");
        return screen.WaitForScreenAsync(s => s.Contains(selected), Long, what);
    }
}
