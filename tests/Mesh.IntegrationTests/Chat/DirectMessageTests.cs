using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>Direct messages between real peer processes on a real etcd: <c>/msg NAME TEXT</c> opens the conversation of
/// two members of a shared group; it appears to each as a group named for the other (<c>@NAME</c>); a third member of the
/// shared group never reads it; its history survives a restart of one side.</summary>
public sealed class DirectMessageTests : EtcdFixture
{
    [Test]
    public async Task A_direct_message_is_read_by_its_two_members_only_and_kept_across_a_restart()
    {
        var group = NewGroup("dmteam");
        var peers = await StartOnlineAsync(group, "amy", "bo", "cy");
        var (amy, bo, cy) = (peers[0], peers[1], peers[2]);
        var secret = $"secret-{Guid.NewGuid():N}";
        var answer = $"answer-{Guid.NewGuid():N}";

        await amy.SendAsync($"/msg bo {secret}");
        await amy.WaitReadyAsync("@bo", Long);
        await bo.WaitReadyAsync("@amy", Long);
        await bo.WaitForAsync(p => Texts(p, "@amy").Contains(secret), Long, "bo reads amy's direct message");
        Assert.That(Texts(amy, "@bo"), Does.Contain(secret), "amy sees her own message in the conversation");
        await bo.SendAsync($"/msg amy {answer}");
        await amy.WaitForAsync(p => Texts(p, "@bo").Contains(answer), Long, "amy reads bo's answer");

        // Bad names: one error line each, naming what was wrong.
        await bo.SendAsync("/msg nobody-here hi");
        await bo.SendAsync("/msg bo hi");
        await bo.WaitForAsync(p => p.Of("error").Count(e => e.Str("message")!.StartsWith("/msg:", StringComparison.Ordinal)) == 2, Long, "two /msg errors");
        var errors = bo.Of("error").Select(e => e.Str("message")!).Where(m => m.StartsWith("/msg:", StringComparison.Ordinal)).ToList();
        Assert.That(errors[0], Does.Contain("no member named 'nobody-here'"));
        Assert.That(errors[1], Does.Contain("that is you"));

        // The group's own messages still reach cy, after the conversation's: cy has read everything it will get.
        await MarkAsync(amy, group, cy);
        var dm = Mesh.Peer.Groups.DirectName.Of(amy.PeerId, bo.PeerId);
        Assert.That(cy.Events.Any(e => e.Str("text") is { } t && (t == secret || t == answer)), Is.False, "cy never gets the conversation's messages");
        Assert.That(cy.Of("ready").Select(e => e.Str("group")), Is.EqualTo(new[] { group }), "cy is in no conversation");
        Assert.That(File.Exists(Path.Combine(cy.Home, "keys", dm + ".epochs")), Is.False, "cy holds no key of it");
        Assert.That(File.Exists(Path.Combine(bo.Home, "keys", dm + ".epochs")), Is.True, "bo holds its key (the check above is not vacuous)");
        await Waiting.UntilAsync(() => Etcd.CountMessages(Mesh.Coordinator.MeshKeys.HistoryPrefix(dm)) == 2, Long, "the conversation's 2 messages in history");
        var (code, dump) = Etcd.Etcdctl("get", "--prefix", "");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(dump, Does.Not.Contain(secret).And.Not.Contain(answer), "etcd holds no plaintext of it");

        // A third member asking for the conversation by its name is refused.
        await cy.SendAsync($"/join {dm}");
        await cy.WaitForAsync(p => p.Of("error").Any(e => e.Str("message")!.Contains("direct conversation of two others", StringComparison.Ordinal)), Long, "cy refused");

        // bo restarts in the shared group only: it finds the conversation by itself, with its history.
        Assert.That(await bo.CloseAsync(), Is.EqualTo(0));
        var away = $"while-away-{Guid.NewGuid():N}";
        await amy.SendAsync($"/msg bo {away}");
        await amy.WaitForAsync(p => Texts(p, "@bo").Contains(away), Long, "amy sent while bo was away");
        var back = StartPeer("bo", [group], bo.Home);
        await back.WaitReadyAsync("@amy", Long);
        await back.WaitForAsync(p => Texts(p, "@amy").Contains(away), Long, "bo reads what came while it was away");
        Assert.That(Texts(back, "@amy"), Is.SupersetOf(new[] { secret, answer }), "and the conversation's earlier history");
        Assert.That(cy.Events.Any(e => e.Str("text") == away), Is.False);
    }
}
