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
    public async Task StartEtcd() => Etcd = await StartEtcdAsync();

    /// <summary>The fixture's etcd: a plain single node unless a fixture needs another.</summary>
    protected virtual Task<EtcdProcess> StartEtcdAsync() => EtcdProcess.StartAsync();

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

    protected PeerProcess Track(PeerProcess peer)
    {
        _peers.Add(peer);
        return peer;
    }

    /// <summary>Starts peers in a group and returns once each is ready and sees every other one online.</summary>
    protected async Task<PeerProcess[]> StartOnlineAsync(string group, params string[] names)
    {
        var peers = names.Select(n => StartPeer(n, group)).ToArray();
        foreach (var peer in peers)
        {
            await peer.WaitReadyAsync(group, Long);
        }

        foreach (var peer in peers)
        {
            await peer.WaitForAsync(p => names.All(OnlineNames(p, group).Contains), Long, $"all of {string.Join(", ", names)} online");
        }

        return peers;
    }

    /// <summary>Two peers in a group, each ready and seeing the other online.</summary>
    protected async Task<(PeerProcess First, PeerProcess Second)> StartPairAsync(string group, string first, string second)
    {
        var peers = await StartOnlineAsync(group, first, second);
        return (peers[0], peers[1]);
    }

    /// <summary>Names a peer knows to be online in a group: those in its ready event plus joins, minus leaves.</summary>
    protected internal static HashSet<string> OnlineNames(PeerProcess peer, string group)
    {
        var online = new HashSet<string>();
        foreach (var e in peer.Events.Where(e => e.Str("group") == group))
        {
            switch (e.Str("type"))
            {
                case "ready":
                    foreach (var m in e.GetProperty("members").EnumerateArray())
                    {
                        online.Add(m.GetString()!);
                    }

                    break;
                case "joined":
                    online.Add(e.Str("name")!);
                    break;
                case "left":
                    online.Remove(e.Str("name")!);
                    break;
            }
        }

        return online;
    }

    /// <summary><c>mesh history G --json</c> against this fixture's etcd, with a member's home (its group key).</summary>
    protected async Task<List<System.Text.Json.JsonElement>> HistoryAsync(string group, string home)
    {
        var (code, stdout, stderr) = await MeshCli.RunAsync("history", group, "--json", "--etcd", Etcd.Url, "--home", home);
        Assert.That(code, Is.EqualTo(0), $"mesh history failed: {stderr}");
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    /// <summary>A peer joining with an invite code, given as the user would: in MESH_INVITE.</summary>
    protected PeerProcess StartInvited(string name, string group, string invite) =>
        Track(PeerProcess.Start(Etcd.Url, name, [group], null, new Dictionary<string, string> { ["MESH_INVITE"] = invite }));

    /// <summary><c>mesh invite G</c> with a member's home; the code it prints.</summary>
    protected async Task<string> InviteAsync(string group, string home)
    {
        var (code, stdout, stderr) = await MeshCli.RunAsync("invite", group, "--etcd", Etcd.Url, "--home", home);
        Assert.That(code, Is.EqualTo(0), stderr);
        return stdout.Trim();
    }

    /// <summary>Sends a final marker from <paramref name="sender"/> and waits until every reader shows it. An
    /// exactly-once test counts only after this: a late copy of anything sent before it has had its chance to show.</summary>
    protected static async Task<string> MarkAsync(PeerProcess sender, string group, params PeerProcess[] readers)
    {
        var marker = $"marker {Guid.NewGuid():N}";
        await sender.SendAsync(marker);
        foreach (var reader in readers.Append(sender))
        {
            await reader.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == marker), Long, $"{reader.Name}: the final marker");
        }

        return marker;
    }

    /// <summary>The texts <paramref name="peer"/> shows in <paramref name="group"/>, in the order shown.</summary>
    protected static List<string> Texts(PeerProcess peer, string group) => peer.Messages(group).Select(m => m.Str("text")!).ToList();

    /// <summary>The messages <paramref name="peer"/> shows in <paramref name="group"/>, without markers.</summary>
    protected static List<System.Text.Json.JsonElement> Counted(PeerProcess peer, string group) =>
        peer.Messages(group).Where(m => m.Str("text")?.StartsWith("marker ", StringComparison.Ordinal) != true).ToList();

    /// <summary>The texts of <see cref="Counted"/>, in the order shown.</summary>
    protected static List<string> CountedTexts(PeerProcess peer, string group) => Counted(peer, group).Select(m => m.Str("text")!).ToList();

    /// <summary>The texts <c>mesh history</c> prints, in its order, without markers.</summary>
    protected async Task<List<string>> CountedHistoryAsync(string group, string home) =>
        (await HistoryAsync(group, home)).Select(m => m.Str("text")!).Where(t => !t.StartsWith("marker ", StringComparison.Ordinal)).ToList();

    protected static string NewHome(string name) => Path.Combine(Path.GetTempPath(), $"mesh-home-{name}-{Guid.NewGuid():N}");

    /// <summary>A command failed as a person should hear it: one line on stderr naming <paramref name="mentions"/>, no
    /// stack trace.</summary>
    protected static void AssertOneLine(string stderr, string mentions)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), $"one line on stderr, got: {stderr}");
        Assert.That(lines[0], Does.StartWith("mesh: "));
        Assert.That(lines[0], Does.Contain(mentions));
        Assert.That(stderr, Does.Not.Contain("   at "), "no stack trace");
    }

    /// <summary>etcd's current revision: every write transaction advances it by exactly one.</summary>
    protected long Revision() => Etcd.CountKeys("/mesh/").Revision;
}
