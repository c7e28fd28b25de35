using Mesh.Testing;

namespace Mesh.IntegrationTests;

/// <summary>Base of integration fixtures: one real etcd per fixture, always stopped; peers killed after each test.</summary>
[Category("Integration")]
public abstract class EtcdFixture
{
    private readonly List<PeerProcess> _peers = [];

    protected EtcdProcess Etcd { get; private set; } = null!;

    protected static TimeSpan Long => TimeSpan.FromSeconds(90);

    [OneTimeSetUp]
    public async Task StartEtcd() => Etcd = await EtcdProcess.StartAsync();

    [OneTimeTearDown]
    public void StopEtcd() => Etcd?.Dispose();

    [TearDown]
    public async Task KillPeers()
    {
        foreach (var peer in _peers)
        {
            if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
            {
                TestContext.Out.WriteLine($"{peer.Name} stderr: {peer.Tail()}");
            }

            await peer.DisposeAsync();
        }

        _peers.Clear();
    }

    /// <summary>A group name no other test uses.</summary>
    protected static string NewGroup(string stem) => $"{stem}-{Guid.NewGuid():N}"[..Math.Min(40, stem.Length + 33)];

    protected PeerProcess StartPeer(string name, params string[] groups) => Track(PeerProcess.Start(Etcd.Url, name, groups));

    protected PeerProcess StartPeer(string name, string[] groups, string? home, params string[] extra) =>
        Track(PeerProcess.Start(Etcd.Url, name, groups, home, extra));

    private PeerProcess Track(PeerProcess peer)
    {
        _peers.Add(peer);
        return peer;
    }

    /// <summary><c>mesh history G --json</c> against this fixture's etcd, with a member's home (its group key).</summary>
    protected async Task<List<System.Text.Json.JsonElement>> HistoryAsync(string group, string home)
    {
        var (code, stdout, stderr) = await MeshCli.RunAsync("history", group, "--json", "--etcd", Etcd.Url, "--home", home);
        Assert.That(code, Is.EqualTo(0), $"mesh history failed: {stderr}");
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    /// <summary>etcd's current revision: every write transaction advances it by exactly one.</summary>
    protected long Revision() => Etcd.CountKeys("/mesh/").Revision;
}
