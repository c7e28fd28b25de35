using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>A peer started without <c>DOTNET_PROCESSOR_COUNT</c> replaces itself, once, with the runtime told not to
/// spin (docs/performance.md), keeping its process id, its command and its standard streams; <c>MESH_SPIN=1</c> leaves
/// it as started.</summary>
public sealed class SpinFreeRuntimeTests : EtcdFixture
{
    private static Dictionary<string, string> Environ(PeerProcess peer) =>
        File.ReadAllText($"/proc/{peer.Pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(v => v.Split('=', 2)).Where(kv => kv.Length == 2)
            .GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.First()[1]);

    [Test]
    public async Task A_peer_runs_spin_free_under_its_own_process_id_and_one_that_asks_to_spin_runs_as_started_and_they_chat()
    {
        Assume.That(Environment.GetEnvironmentVariable("DOTNET_PROCESSOR_COUNT"), Is.Null, "the tests' own environment sets the count");
        Assume.That(Environment.ProcessorCount, Is.GreaterThan(1), "one processor: nothing to replace");
        var group = NewGroup("spin");
        var quiet = Track(PeerProcess.StartBare(Etcd.Url, "quiet", [group]));
        await quiet.WaitReadyAsync(group);
        var spinning = Track(PeerProcess.Start(Etcd.Url, "spinning", [group], null, new Dictionary<string, string> { ["MESH_SPIN"] = "1" }));
        await spinning.WaitReadyAsync(group);

        // Read under the process id the test started: the replacement kept it.
        var replaced = Environ(quiet);
        Assert.That(replaced.GetValueOrDefault("DOTNET_PROCESSOR_COUNT"), Is.EqualTo("1"));
        Assert.That(replaced.GetValueOrDefault("MESH_CORES"), Is.EqualTo(Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(File.ReadAllText($"/proc/{quiet.Pid}/cmdline"), Does.Contain($"\0{group}\0").And.Contain("\0--headless\0"), "the same command");
        var asStarted = Environ(spinning);
        Assert.That(asStarted.ContainsKey("DOTNET_PROCESSOR_COUNT"), Is.False);
        Assert.That(asStarted.ContainsKey("MESH_CORES"), Is.False);

        // Both ends of the standard streams survived the replacement: lines in, events out.
        await quiet.SendAsync("from the replaced peer");
        await spinning.SendAsync("from the peer as started");
        await quiet.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "from the peer as started"), Long, "the other's message");
        await spinning.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "from the replaced peer"), Long, "the replaced peer's message");
    }
}
