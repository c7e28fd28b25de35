using System.Diagnostics;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>Presence follows etcd leases: a clean exit is seen at once, a crash once the lease expires.</summary>
public sealed class PresenceTests : EtcdFixture
{
    [Test]
    public async Task A_peer_that_exits_on_end_of_input_is_reported_left_within_one_second()
    {
        var group = NewGroup("eof");
        var (watcher, leaver) = await StartPairAsync(group, "watcher", "leaver");

        var clock = Stopwatch.StartNew();
        var exit = leaver.CloseAsync();
        await watcher.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "leaver"), TimeSpan.FromSeconds(10), "leaver left");
        var elapsed = clock.Elapsed;
        Assert.That(await exit, Is.EqualTo(0), "exit code on end of input");
        TestContext.Out.WriteLine($"left seen {elapsed.TotalMilliseconds:F0} ms after end of input");
        Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(1)));
    }

    [Test]
    public async Task SIGTERM_leaves_cleanly_like_end_of_input()
    {
        var group = NewGroup("term");
        var (watcher, leaver) = await StartPairAsync(group, "watcher", "termed");
        await leaver.SendAsync("last words");
        await watcher.WaitForAsync(p => p.Messages(group).Count == 1, Long, "the message");

        leaver.Signal(PeerProcess.SIGTERM);
        await watcher.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "termed"), TimeSpan.FromSeconds(10), "termed left");
        Assert.That(await leaver.CloseAsync(), Is.EqualTo(0));
        Assert.That((await HistoryAsync(group, watcher.Home)).Select(m => m.Str("text")), Is.EqualTo(new[] { "last words" }));
    }

    [Test]
    public async Task A_peer_killed_with_SIGKILL_is_reported_left_once_its_lease_expires()
    {
        var group = NewGroup("kill");
        var watcher = StartPeer("watcher", group);
        await watcher.WaitReadyAsync(group);
        var victim = StartPeer("victim", [group], null, "--lease-ttl", "3");
        await victim.WaitReadyAsync(group);
        await watcher.WaitForAsync(p => p.Of("joined", group).Any(e => e.Str("name") == "victim"), Long, "victim joined");

        var clock = Stopwatch.StartNew();
        victim.Kill();
        await watcher.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "victim"), TimeSpan.FromSeconds(30), "victim left");
        TestContext.Out.WriteLine($"left seen {clock.Elapsed.TotalMilliseconds:F0} ms after SIGKILL (lease TTL 3 s)");
        // Not before the lease could have expired: the left event comes from etcd, not from a guess.
        Assert.That(clock.Elapsed, Is.GreaterThan(TimeSpan.FromSeconds(1)));
    }

    [Test]
    public async Task A_member_killed_after_a_clean_quit_and_a_return_is_told_as_lost_not_as_a_clean_exit()
    {
        var group = NewGroup("return");
        var watcher = StartPeer("watcher", group);
        await watcher.WaitReadyAsync(group);
        var eve = StartPeer("eve", [group], null, "--lease-ttl", "3");
        await eve.WaitReadyAsync(group, Long);
        var home = eve.Home;
        Assert.That(await eve.CloseAsync(), Is.EqualTo(0));
        await watcher.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "eve" && e.Str("reason") == "exited"), Long, "a clean exit");

        eve = StartPeer("eve", [group], home, "--lease-ttl", "3");
        await eve.WaitReadyAsync(group, Long);
        await watcher.WaitForAsync(p => p.Of("joined", group).Count(e => e.Str("name") == "eve") >= 1 && OnlineNames(p, group).Contains("eve"), Long, "eve back");
        eve.Kill();
        await watcher.WaitForAsync(p => p.Of("left", group).Count(e => e.Str("name") == "eve") == 2, Long, "eve lost");
        Assert.That(watcher.Of("left", group).Last(e => e.Str("name") == "eve").Str("reason"), Is.EqualTo("expired"));
    }

    [Test]
    public async Task Groups_and_members_list_what_is_online()
    {
        var group = NewGroup("dir");
        var a = StartPeer("ann", group);
        var b = StartPeer("bob", group);
        await a.WaitReadyAsync(group);
        await b.WaitReadyAsync(group);

        var (code, stdout, stderr) = await MeshCli.RunAsync("members", group, "--json", "--etcd", Etcd.Url);
        Assert.That(code, Is.EqualTo(0), stderr);
        var members = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(members.Select(m => m.Str("name")), Is.EquivalentTo(new[] { "ann", "bob" }));
        Assert.That(members.All(m => m.Str("fingerprint")!.Length == 24), Is.True);

        (code, stdout, stderr) = await MeshCli.RunAsync("groups", "--json", "--etcd", Etcd.Url);
        Assert.That(code, Is.EqualTo(0), stderr);
        var line = stdout.Split('\n').Single(l => l.Contains($"\"{group}\""));
        Assert.That(System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("members").GetInt64(), Is.EqualTo(2));
    }
}
