using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>A peer restarted with the same home is the same peer, and history survives without duplicates.</summary>
public sealed class RestartTests : EtcdFixture
{
    [Test]
    public async Task Restart_with_the_same_home_keeps_identity_and_history_without_duplicate_ids()
    {
        var group = NewGroup("restart");
        var home = Path.Combine(Path.GetTempPath(), $"mesh-home-restart-{Guid.NewGuid():N}");
        var first = StartPeer("rita", [group], home);
        await first.WaitReadyAsync(group);
        await first.SendManyAsync(Enumerable.Range(0, 5).Select(i => $"before:{i}"));
        await first.WaitForAsync(p => p.Messages(group).Count == 5, Long, "own 5");
        Assert.That(await first.CloseAsync(), Is.EqualTo(0));
        var firstPeer = first.Messages(group)[0].Str("id")!.Split(':')[0];
        var secret = await File.ReadAllTextAsync(Path.Combine(home, "identity.secret"));
        Assert.That(File.GetUnixFileMode(Path.Combine(home, "identity.secret")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));

        var second = StartPeer("rita", [group], home);
        await second.WaitReadyAsync(group);
        Assert.That(second.Messages(group).Select(m => m.Str("text")), Is.EqualTo(Enumerable.Range(0, 5).Select(i => $"before:{i}")));
        await second.SendManyAsync(Enumerable.Range(0, 5).Select(i => $"after:{i}"));
        await second.WaitForAsync(p => p.Messages(group).Count == 10, Long, "10 messages");
        Assert.That(await second.CloseAsync(), Is.EqualTo(0));

        Assert.That(await File.ReadAllTextAsync(Path.Combine(home, "identity.secret")), Is.EqualTo(secret), "same key file");
        var ids = second.Messages(group).Select(m => m.Str("id")!).ToList();
        Assert.That(ids.Select(id => id.Split(':')[0]).Distinct(), Is.EqualTo(new[] { firstPeer }), "same peer id after restart");
        Assert.That(ids.Distinct().Count(), Is.EqualTo(10));

        var history = await HistoryAsync(group, home);
        Assert.That(history.Select(m => m.Str("id")), Is.EqualTo(ids), "history: all 10, oldest first, no duplicate ids");
    }

    [Test]
    public async Task A_second_peer_on_the_same_home_is_refused_with_one_line()
    {
        var group = NewGroup("lock");
        var home = Path.Combine(Path.GetTempPath(), $"mesh-home-lock-{Guid.NewGuid():N}");
        var first = StartPeer("lou", [group], home);
        await first.WaitReadyAsync(group);
        // It waits 1 s for the first to exit instead of the default 10 s: the first does not exit, so the wait only
        // delays the refusal.
        var (code, stdout, stderr) = await MeshCli.RunAsync(new Dictionary<string, string> { ["MESH_HOME_WAIT"] = "1s" },
            "join", group, "--headless", "--name", "lou2", "--etcd", Etcd.Url, "--home", home);
        Assert.That(code, Is.Not.EqualTo(0));
        var lines = stderr.Trim().Split('\n');
        Assert.That(lines, Has.Length.EqualTo(2), "one line while it waits for the first to exit, one for the refusal: " + stderr);
        Assert.That(lines[0], Does.Contain("waiting for the mesh peer running with home"));
        Assert.That(lines[1], Does.Contain("already running"));
    }
}
