using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>The README's bot (<c>mesh join ops --headless --name bot &lt; file</c>) on a fresh home: its input waits
/// for admission instead of failing line by line, and a wait that never ends is said once.</summary>
public sealed class HeadlessAdmissionTests : EtcdFixture
{
    /// <summary>A group whose creator came and went: a joiner waits for a member to admit it.</summary>
    private async Task<(string Group, PeerProcess Creator)> GroupNoOneIsInAsync(string stem)
    {
        var group = NewGroup(stem);
        var amy = StartPeer("amy", group);
        await amy.WaitReadyAsync(group, Long);
        Assert.That(await amy.CloseAsync(), Is.Zero);
        return (group, amy);
    }

    [Test]
    public async Task A_bot_whose_whole_input_is_there_before_it_is_admitted_sends_every_line_once_when_it_is()
    {
        var (group, amy) = await GroupNoOneIsInAsync("bot");

        // Every line written and the input closed before any member is online to admit the bot.
        var bot = StartPeer("bot", group);
        var lines = Enumerable.Range(0, 50).Select(i => $"line {i:D2}").ToList();
        await bot.SendManyAsync(lines);
        var exit = bot.CloseAsync(TimeSpan.FromSeconds(150));
        await bot.WaitForAsync(p => p.Of("waiting", group).Count > 0, Long, "the bot waiting to be admitted");

        var back = Track(PeerProcess.Start(Etcd.Url, "amy", [group], amy.Home));
        await back.WaitReadyAsync(group, Long);
        Assert.That(await exit, Is.Zero, "the bot sent its input and left at its end");
        Assert.That(bot.Of("error").Select(e => e.Str("message")), Is.Empty, "no line was refused");
        await back.WaitForAsync(p => lines.All(Texts(p, group).Contains), Long, "every line at amy");
        var history = (await HistoryAsync(group, back.Home)).Select(m => m.Str("text")!).ToList();
        Assert.That(history.Where(lines.Contains), Is.EqualTo(lines), "each line once, in order, in history");
    }

    [Test]
    public async Task A_bot_never_admitted_says_so_once_leaves_its_input_unread_and_exits_non_zero()
    {
        var (group, _) = await GroupNoOneIsInAsync("lonely");

        var bot = Track(PeerProcess.Start(Etcd.Url, "bot", [group], null, new Dictionary<string, string> { ["MESH_ADMIT_WAIT"] = "3s" }));
        await bot.SendManyAsync(Enumerable.Range(0, 20).Select(i => $"line {i}"));
        await Waiting.UntilAsync(() => bot.Exited, Long, "the bot to give up");
        Assert.That(await bot.CloseAsync(), Is.EqualTo(1));
        var errors = bot.Of("error").Select(e => e.Str("message")!).ToList();
        Assert.That(errors, Has.Count.EqualTo(1), string.Join(" | ", errors));
        Assert.That(errors[0], Does.StartWith($"not ready in '{group}' after 3 s").And.Contain("input was not read"));
    }

    [Test]
    public async Task Creating_a_group_is_said_and_a_join_of_a_name_that_does_not_exist_asks_first()
    {
        var group = NewGroup("made");
        var amy = StartPeer("amy", group);
        await amy.WaitReadyAsync(group, Long);
        Assert.That(amy.Of("info", group).Select(e => e.Str("message")),
            Is.EqualTo(new[] { $"created group '{group}': open (anyone using this etcd may join); it keeps 1y of history, at most 1,000,000 messages" }));

        var typo = NewGroup("typo");
        await amy.SendAsync($"/join {typo}");
        await amy.WaitForAsync(p => p.Of("info", typo).Count > 0, Long, "the question");
        Assert.That(amy.Of("info", typo)[0].Str("message"), Does.StartWith($"there is no group '{typo}' yet: type /join {typo} again"));
        // Asked, not created: a later line shows the join did nothing.
        await MarkAsync(amy, group);
        Assert.That(Etcd.CountKeys(Mesh.Coordinator.MeshKeys.Group(typo)).Count, Is.Zero, "nothing created on one /join");
        Assert.That(amy.Of("ready", typo), Is.Empty);

        await amy.SendAsync($"/join {typo}");
        await amy.WaitReadyAsync(typo, Long);
        Assert.That(amy.Of("info", typo).Select(e => e.Str("message")), Has.Some.StartsWith($"created group '{typo}'"));

        // A group that exists is joined at once.
        var bo = StartPeer("bo", group);
        await bo.WaitReadyAsync(group, Long);
        await bo.SendAsync($"/join {typo}");
        await bo.WaitReadyAsync(typo, Long);
        Assert.That(bo.Of("info"), Is.Empty, "bo created nothing and was asked nothing");
    }
}
