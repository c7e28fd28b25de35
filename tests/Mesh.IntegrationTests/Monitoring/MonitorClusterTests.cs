using System.Text.Json;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Monitoring;

/// <summary>mesh monitor on a real 3-member etcd cluster: each member's health, the leader, and a member that dies.</summary>
[Category("Integration")]
public sealed class MonitorClusterTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    private static JsonElement Member(JsonElement state, string url) =>
        state.GetProperty("etcd").EnumerateArray().Single(e => e.GetProperty("endpoint").GetString() == url);

    [Test]
    public async Task Each_etcd_member_is_shown_with_its_health_the_leader_and_its_database_size()
    {
        using var cluster = await EtcdCluster.StartAsync(3);
        using var monitor = MonitorProcess.Start(cluster.Endpoints);
        var leader = cluster.Leader();
        var state = await monitor.WaitForStateAsync(s =>
            s.GetProperty("etcd").GetArrayLength() == 3
            && s.GetProperty("etcd").EnumerateArray().All(e => e.GetProperty("healthy").GetBoolean())
            && Member(s, leader.Url).GetProperty("leader").GetBoolean(),
            Long, "3 healthy members, the leader known");
        Assert.That(state.GetProperty("etcd").EnumerateArray().Count(e => e.GetProperty("leader").GetBoolean()), Is.EqualTo(1));
        Assert.That(state.GetProperty("etcd").EnumerateArray().All(e => e.GetProperty("dbSizeBytes").GetInt64() > 0));

        var follower = cluster.AnyFollower();
        follower.Kill();
        state = await monitor.WaitForStateAsync(s => !Member(s, follower.Url).GetProperty("healthy").GetBoolean(), Long, $"{follower.Url} unhealthy");
        Assert.That(state.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("text").GetString()),
            Has.Some.StartsWith($"etcd {follower.Url} unhealthy"));
        Assert.That(state.GetProperty("etcd").EnumerateArray().Count(e => e.GetProperty("healthy").GetBoolean()), Is.EqualTo(2));

        // The log says the member's loss once (after 5 s of failed checks, as the page would) and its return once;
        // etcd as a whole answered all along.
        await Waiting.UntilAsync(() => monitor.LogLines().Any(l => l.Contains($"etcd member {follower.Url} unreachable")), Long,
            "the monitor to log the member's loss", () => string.Join("\n", monitor.LogLines()));
        await follower.StartAsync();
        await monitor.WaitForStateAsync(s => Member(s, follower.Url).GetProperty("healthy").GetBoolean(), Long, $"{follower.Url} healthy again");
        await Waiting.UntilAsync(() => monitor.LogLines().Any(l => l.Contains($"etcd member {follower.Url} back after")), Long,
            "the monitor to log the member's return", () => string.Join("\n", monitor.LogLines()));
        var log = monitor.LogLines();
        var said = string.Join("\n", log);
        var warnings = log.Where(l => l.Contains(" warn ") || l.Contains(" fail ")).ToList();
        Assert.That(warnings, Has.Count.EqualTo(1), "one warning, the member's loss: " + said);
        Assert.That(warnings[0], Does.Contain($"warn sources: etcd member {follower.Url} unreachable ("), said);
        Assert.That(log, Has.Exactly(1).Contains($"info sources: etcd member {follower.Url} back after "), said);
        Assert.That(said, Does.Not.Contain("etcd unreachable").And.Not.Contain("Exception"), "etcd itself answered all along");
    }
}
