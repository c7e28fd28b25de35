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

        await follower.StartAsync();
        await monitor.WaitForStateAsync(s => Member(s, follower.Url).GetProperty("healthy").GetBoolean(), Long, $"{follower.Url} healthy again");
    }
}
