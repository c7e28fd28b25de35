using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>A peer keeps a copy of its groups' history and, on restart, fetches from etcd only what it lacks.</summary>
public sealed class LocalHistoryTests : EtcdFixture
{
    private static readonly Dictionary<string, string> Verbose = new() { ["MESH_LOG"] = "Information" };

    [Test]
    public async Task A_restart_shows_the_local_copy_and_fetches_only_the_messages_it_missed()
    {
        var group = NewGroup("copy");
        var home = Path.Combine(Path.GetTempPath(), $"mesh-home-keeper-{Guid.NewGuid():N}");
        var writer = StartPeer("writer", group);
        await writer.WaitReadyAsync(group);
        await writer.SendManyAsync(Enumerable.Range(0, 300).Select(i => $"m{i:D3}"));
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 300, Long, "300 in history");

        await using (var keeper = PeerProcess.Start(Etcd.Url, "keeper", [group], home, Verbose))
        {
            await keeper.WaitReadyAsync(group, Long);
            Assert.That(keeper.Messages(group), Has.Count.EqualTo(300));
            Assert.That(await keeper.CloseAsync(), Is.EqualTo(0));
            Assert.That(File.ReadAllText(keeper.StderrPath), Does.Contain($"history of '{group}': 0 from the local copy, 300 fetched from etcd"));
        }

        await writer.SendManyAsync(Enumerable.Range(300, 50).Select(i => $"m{i:D3}"));
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 350, Long, "350 in history");

        await using var again = PeerProcess.Start(Etcd.Url, "keeper", [group], home, Verbose);
        await again.WaitReadyAsync(group, Long);
        Assert.That(again.Messages(group).Select(m => m.Str("text")), Is.EqualTo(Enumerable.Range(0, 350).Select(i => $"m{i:D3}")),
            "all 350, in order, none twice");
        Assert.That(File.ReadAllText(again.StderrPath), Does.Contain($"history of '{group}': 300 from the local copy, 50 fetched from etcd"));
        Assert.That(File.GetUnixFileMode(Path.Combine(home, "history", group + ".log")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }
}
