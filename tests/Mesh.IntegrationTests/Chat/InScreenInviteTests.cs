using System.Globalization;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>Private groups without leaving the chat (issue 32, item 3), typed on the headless contract's stdin as on
/// the screen: <c>/join G --private</c>, <c>/invite</c> (an event for this user alone), <c>/accept CODE</c> or the code
/// pasted on its own (never sent as a message); and honest waiting when no member is online to admit a joiner.</summary>
public sealed class InScreenInviteTests : EtcdFixture
{
    [Test]
    public async Task A_private_group_is_made_invited_to_and_joined_from_typed_lines_and_no_code_reaches_a_group()
    {
        var (lobby, secret, hall) = (NewGroup("lobby"), NewGroup("secret"), NewGroup("hall"));
        var amy = StartPeer("amy", lobby);
        await amy.WaitReadyAsync(lobby, Long);
        var (bo, cy) = await StartPairAsync(hall, "bo", "cy");

        await amy.SendAsync($"/join {secret} --private");
        await amy.WaitReadyAsync(secret, Long);
        Assert.That(amy.Of("info", secret).Select(e => e.Str("message")), Has.Some.StartsWith($"created group '{secret}': private"));
        await amy.SendAsync($"/switch {secret}");
        await amy.SendAsync("said before anyone was invited");

        // An open group of that name is not made private: the CLI's words.
        await amy.SendAsync($"/join {hall} --private");
        await amy.WaitForAsync(p => p.Of("error").Any(e => e.Str("message")!.Contains("--private")), Long, "the refusal");
        Assert.That(amy.Of("error").Last().Str("message"), Is.EqualTo($"--private: group '{hall}' already exists and is open (anyone may join it); choose another name"));
        Assert.That(amy.Of("ready", hall), Is.Empty);

        // Two invites, the first to the current group by default; each an event of its own, for amy alone.
        await amy.SendAsync("/invite");
        await amy.SendAsync($"/invite {secret} --ttl 2h");
        await amy.WaitForAsync(p => p.Of("invite", secret).Count == 2, Long, "two invite events");
        // Made side by side in the background: told in the order etcd answered.
        var invites = amy.Of("invite", secret).OrderByDescending(e => e.Str("expires"), StringComparer.Ordinal).ToList();
        var (first, second) = (invites[0].Str("code")!, invites[1].Str("code")!);
        Assert.That(DateTimeOffset.Parse(invites[0].Str("expires")!, CultureInfo.InvariantCulture) - DateTimeOffset.UtcNow,
            Is.InRange(TimeSpan.FromHours(23.9), TimeSpan.FromHours(24)), "a day by default");
        Assert.That(first, Does.StartWith("mesh3.").And.Not.EqualTo(second));
        var expires = DateTimeOffset.Parse(invites[1].Str("expires")!, CultureInfo.InvariantCulture);
        Assert.That(expires - DateTimeOffset.UtcNow, Is.InRange(TimeSpan.FromMinutes(110), TimeSpan.FromMinutes(120)), "--ttl 2h");
        Assert.That(invites[1].Str("expires"), Does.EndWith("Z"));

        // bo, in another group, types /accept: admitted to the private group with its history; amy sees bo join.
        await bo.SendAsync($"/accept {first}");
        await bo.WaitReadyAsync(secret, Long);
        await bo.WaitForAsync(p => Texts(p, secret).Contains("said before anyone was invited"), Long, "the history before bo");
        await amy.WaitForAsync(p => p.Of("joined", secret).Any(e => e.Str("name") == "bo"), Long, "amy sees bo join");

        // cy pastes the second code on its own line, into hall where bo reads: it is an /accept, never a message.
        await cy.SendAsync("  " + second);
        await cy.WaitReadyAsync(secret, Long);
        await MarkAsync(cy, hall, bo);
        foreach (var peer in new[] { amy, bo, cy })
        {
            Assert.That(peer.Of("message").Select(m => m.Str("text")), Has.None.Contains("mesh3."), $"{peer.Name} shows no code as a message");
        }

        Assert.That((await HistoryAsync(hall, cy.Home)).Select(m => m.Str("text")), Has.None.Contains("mesh3."), "no code in hall's history");
        Assert.That(bo.Of("invite").Concat(cy.Of("invite")), Is.Empty, "an invite event goes to its maker only");

        // A used code, a code of the older form alone, and a bad --ttl: each one line with the command's usage.
        await bo.SendAsync($"/accept {first}");
        await bo.SendAsync("/invite --ttl 31d");
        await bo.WaitForAsync(p => p.Of("error").Count >= 2, Long, "two errors");
        var errors = bo.Of("error").Select(e => e.Str("message")!).ToList();
        Assert.That(errors, Has.Some.EqualTo($"already in group '{secret}'"));
        Assert.That(errors, Has.Some.EqualTo("/invite: --ttl '31d': give a whole number with s, m, h or d, from 1m to 30d (usage: /invite [G] [--ttl D])"));
    }

    [Test]
    public async Task A_used_or_older_code_is_refused_in_one_line()
    {
        var (lobby, secret) = (NewGroup("lobby"), NewGroup("secret"));
        var amy = StartPeer("amy", [secret], null, "--private");
        await amy.WaitReadyAsync(secret, Long);
        var older = await InviteAsync(secret, amy.Home);
        Assert.That(older, Does.StartWith("mesh3."), "mesh invite prints the form that names its group");
        var bo = StartPeer("bo", lobby);
        await bo.WaitReadyAsync(lobby, Long);

        // A code of the older form (no group in it) is taken beside its group.
        var unnamed = OlderForm(older);
        await bo.SendAsync(unnamed);
        await bo.WaitForAsync(p => p.Of("error").Count >= 1, Long, "the older code alone refused");
        Assert.That(bo.Of("error")[0].Str("message"), Does.StartWith("/accept: this code is of an older form that does not name its group: type /accept G CODE"));
        await bo.SendAsync($"/accept {secret} {unnamed}");
        await bo.WaitReadyAsync(secret, Long);

        var cy = StartPeer("cy", lobby);
        await cy.WaitReadyAsync(lobby, Long);
        await cy.SendAsync($"/accept {older}");
        await cy.WaitForAsync(p => p.Of("error").Count >= 1, Long, "the used code refused");
        Assert.That(cy.Of("error")[0].Str("message"), Does.Contain("no such invite").And.Contain(secret));
        Assert.That(cy.Of("ready", secret), Is.Empty);
        Assert.That(cy.Messages(lobby), Is.Empty);
    }

    [Test]
    public async Task Waiting_with_no_member_online_says_so_and_says_when_one_comes()
    {
        var big = NewGroup("big");
        var amy = StartPeer("amy", big);
        await amy.WaitReadyAsync(big, Long);
        Assert.That(await amy.CloseAsync(), Is.Zero);

        var bo = StartPeer("bo", big);
        await bo.WaitForAsync(p => p.Of("waiting", big).Count > 0, Long, "bo waiting");
        Assert.That(bo.Of("waiting", big)[0].Str("message"),
            Is.EqualTo($"no member of '{big}' is online to admit you: waiting (any member's peer admits you when it starts)"));

        var back = Track(PeerProcess.Start(Etcd.Url, "amy", [big], amy.Home));
        await bo.WaitReadyAsync(big, Long);
        var said = bo.Of("waiting", big).Select(e => e.Str("message")).ToList();
        // Then, admitted, it may wait a moment for the key: said as before.
        Assert.That(said, Has.Count.InRange(2, 3), string.Join(" | ", said));
        Assert.That(said[1], Is.EqualTo($"amy is online in '{big}': asking to be admitted"));
        Assert.That(said.Skip(2), Has.All.StartWith("waiting for the key"));
        await back.WaitForAsync(p => p.Of("joined", big).Any(e => e.Str("name") == "bo"), Long, "amy sees bo join");
    }

    [Test]
    public async Task An_invitee_with_no_member_online_is_told_so_and_admitted_when_the_inviter_comes_back()
    {
        var (lobby, secret) = (NewGroup("lobby"), NewGroup("secret"));
        var amy = StartPeer("amy", [secret], null, "--private");
        await amy.WaitReadyAsync(secret, Long);
        await amy.SendAsync("/invite");
        await amy.WaitForAsync(p => p.Of("invite", secret).Count == 1, Long, "the invite");
        var code = amy.Of("invite", secret)[0].Str("code")!;
        Assert.That(await amy.CloseAsync(), Is.Zero);

        var bo = StartPeer("bo", lobby);
        await bo.WaitReadyAsync(lobby, Long);
        await bo.SendAsync(code);
        await bo.WaitForAsync(p => p.Of("waiting", secret).Count > 0, Long, "bo waiting");
        Assert.That(bo.Of("waiting", secret)[0].Str("message"), Does.StartWith($"no member of '{secret}' is online to admit you"));

        Track(PeerProcess.Start(Etcd.Url, "amy", [secret], amy.Home));
        await bo.WaitReadyAsync(secret, Long);
        Assert.That(bo.Of("waiting", secret).Select(e => e.Str("message")), Has.Some.EqualTo($"amy is online in '{secret}': asking to be admitted"));
    }

    /// <summary>The same invite as a code of the form Mesh printed before codes named their group.</summary>
    private static string OlderForm(string code)
    {
        using var invite = Mesh.Peer.Groups.Invite.Parse(code, "test");
        var bytes = (byte[])[.. invite.Secret, .. Convert.FromHexString(invite.GenesisHash)];
        return "mesh2." + Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
