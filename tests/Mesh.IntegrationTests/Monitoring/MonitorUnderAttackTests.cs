using System.Net;
using System.Text;
using System.Text.Json;
using Etcdserverpb;
using Google.Protobuf;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Monitoring;

/// <summary>mesh monitor against an etcd writer (every Mesh user is one) and a hostile web page: junk records, unsigned
/// peers and deleted presence records on a real etcd, and requests with another Host, against the real process.</summary>
[Category("Integration")]
public sealed class MonitorUnderAttackTests : EtcdFixture
{
    private static IEnumerable<JsonElement> Peers(JsonElement state) => state.GetProperty("peers").EnumerateArray();

    private static string? State(JsonElement state, string name) =>
        Peers(state).Where(p => p.GetProperty("name").GetString() == name).Select(p => p.GetProperty("state").GetString()).FirstOrDefault();

    private static IEnumerable<string> Events(JsonElement state) =>
        state.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("text").GetString()!);

    /// <summary>What an etcd writer does: puts any bytes at any key under /mesh/.</summary>
    private async Task PutAsync(params (string Key, byte[] Value)[] records)
    {
        using var etcd = new EtcdConnection([Etcd.Url]);
        foreach (var (key, value) in records)
        {
            await etcd.KV.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFrom(value) });
        }
    }

    private static (string, byte[]) Junk(string key, string value) => (key, Encoding.UTF8.GetBytes(value));

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(string url, string? host = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (host is not null)
        {
            request.Headers.Host = host;
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task Junk_records_written_straight_to_etcd_leave_the_page_and_its_state_answering_with_the_honest_peers_shown()
    {
        using var monitor = MonitorProcess.Start(Etcd.Url);
        var group = NewGroup("junk");
        var (amy, _) = await StartPairAsync(group, "amy", "bob");
        var before = await monitor.WaitForStateAsync(s => State(s, "amy") == "healthy" && State(s, "bob") == "healthy", Long, "amy and bob healthy");
        var bobId = Peers(before).First(p => p.GetProperty("name").GetString() == "bob").GetProperty("id").GetString()!;

        var unsigned = "{\"peer\":\"fake\",\"name\":\"fake\",\"key\":\"" + new string('A', 40) + "\",\"sign\":\"" + new string('A', 44)
            + "\",\"endpoint\":\"tcp://127.0.0.1:1\",\"since\":1}";
        await PutAsync(
            // The two records of the report: a fake peer, and a link report with a null in it.
            Junk(MeshKeys.Peer("fake"), unsigned),
            Junk(MeshKeys.Links("fake"), "{\"up\":[null]}"),
            Junk(MeshKeys.Peer("fake2"), unsigned.Replace("\"fake\"", "\"fake2\"", StringComparison.Ordinal)),
            Junk(MeshKeys.Links("fake2"), "{\"up\":[null],\"down\":[null]}"),
            // And more of the kind: malformed, wrong types, nulls, huge, odd key shapes, junk at an honest peer's keys.
            Junk(MeshKeys.Peer("malformed"), "{\"peer\":"),
            Junk(MeshKeys.Peer("types"), "{\"peer\":1,\"name\":[],\"key\":{},\"since\":\"x\",\"g\":null}"),
            Junk(MeshKeys.Peer("huge"), "{\"peer\":\"huge\",\"name\":\"" + new string('x', 1 << 20) + "\"}"),
            Junk(MeshKeys.Peer(new string('z', 4000)), "null"),
            Junk(MeshKeys.Links(bobId), "{\"up\":[null,123],\"down\":{}}"),
            Junk(MeshKeys.Links("deep"), new string('[', 100_000)),
            Junk(MeshKeys.Group("junk-group"), "{\"b\":5}"),
            Junk(MeshKeys.Member(group, "fake"), "null"),
            Junk(MeshKeys.MembersRoot + "no-peer-part", "x"),
            Junk(MeshKeys.Leaving("fake"), "\u0000"),
            Junk(MeshKeys.HistoryPrefix(group) + "garbage", "x"),
            Junk(MeshKeys.HistoryRoot + "/9999999999999-x", "x"));

        var state = await monitor.WaitForStateAsync(s => State(s, "fake") == "unsigned" && State(s, "fake2") == "unsigned", Long, "the fake peers, as unsigned");
        Assert.That(State(state, "amy"), Is.EqualTo("healthy"));
        Assert.That(State(state, "bob"), Is.EqualTo("healthy"), "junk in his link report costs his links at most");
        Assert.That(Peers(state).Select(p => p.GetProperty("name").GetString()), Has.None.Contains("xxxxxxxx"), "a 1 MiB record is not read");
        Assert.That(Peers(state).Single(p => p.GetProperty("name").GetString() == "fake").GetProperty("cause").GetString(), Does.Contain("no signature"));

        var (stateStatus, _) = await GetAsync(monitor.Url + "api/state");
        var (pageStatus, page) = await GetAsync(monitor.Url);
        Assert.That((stateStatus, pageStatus), Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.OK)), "the state and the page answer");
        Assert.That(page, Does.Contain("initial-state"));

        // Still following etcd: a message sent now is counted.
        await amy.SendManyAsync(["after the junk"]);
        await monitor.WaitForStateAsync(s => s.GetProperty("groups").EnumerateArray().Any(g => g.GetProperty("name").GetString() == group && g.GetProperty("messagesSeen").GetInt64() >= 1),
            Long, "the message sent after the junk");

        var dom = StatusPageShots.Load(monitor, "status-page-unsigned.png", "junk and unsigned records written straight to etcd");
        Assert.That(dom, Does.Contain("data-state=\"live\""), "the page fetched the state and rendered it");
        Assert.That(dom, Does.Contain("data-peers=\"amy,bob\""), "online: the honest peers only");
        Assert.That(dom, Does.Contain("data-unsigned=\"fake,fake2\""));
        Assert.That(dom, Does.Contain("<tr class=\"unsigned\">").And.Contain("id=\"unsigned-count\">2<"));
        Assert.That(dom, Does.Contain("id=\"peer-count\">2<"), "the tile counts amy and bob, not the fakes");
    }

    [Test]
    public async Task A_request_with_another_Host_gets_421_and_one_line_and_loopback_names_are_answered()
    {
        using var monitor = MonitorProcess.Start(Etcd.Url, "--allow-host", "status.example.org");
        await monitor.WaitForStateAsync(s => s.GetProperty("etcd").GetArrayLength() == 1, Long, "the page up");

        foreach (var path in new[] { "", "api/state", "app.js" })
        {
            var (status, body) = await GetAsync(monitor.Url + path, $"attacker.example:{monitor.Port}");
            Assert.That(status, Is.EqualTo(HttpStatusCode.MisdirectedRequest), path);
            Assert.That(body.TrimEnd('\n'), Does.Not.Contain('\n').And.StartWith("mesh monitor: this status page answers only to"), "one plain line");
            Assert.That(body, Does.Not.Contain("peers"), "nothing of the mesh");
        }

        foreach (var host in new[] { $"localhost:{monitor.Port}", $"127.0.0.1:{monitor.Port}", "status.example.org", $"[::1]:{monitor.Port}" })
        {
            Assert.That((await GetAsync(monitor.Url + "api/state", host)).Status, Is.EqualTo(HttpStatusCode.OK), host);
        }
    }

    [Test]
    public async Task A_running_peer_whose_presence_record_is_deleted_is_not_called_failed()
    {
        using var monitor = MonitorProcess.Start(Etcd.Url);
        var group = NewGroup("deleted");
        var runner = StartPeer("runner", [group], null, "--lease-ttl", "5");
        await runner.WaitReadyAsync(group, Long);
        var before = await monitor.WaitForStateAsync(s => State(s, "runner") == "healthy", Long, "runner healthy");
        var id = Peers(before).First(p => p.GetProperty("name").GetString() == "runner").GetProperty("id").GetString()!;
        var expiries = before.GetProperty("leaseExpiries").GetInt64();

        using (var etcd = new EtcdConnection([Etcd.Url]))
        {
            await etcd.KV.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(MeshKeys.Peer(id)) });
        }

        var state = await monitor.WaitForStateAsync(s => Events(s).Any(e => e.Contains("presence record deleted while its lease lives", StringComparison.Ordinal)),
            Long, "the deletion told as such");
        var row = Peers(state).Single(p => p.GetProperty("id").GetString() == id);
        Assert.That(row.GetProperty("state").GetString(), Is.EqualTo("deleted"));
        Assert.That(row.GetProperty("cause").GetString(), Does.StartWith("its presence record was deleted while its lease lives (etcd writer?)"));
        Assert.That(Events(state), Has.Some.EqualTo($"runner ({id[..8]}): presence record deleted while its lease lives (etcd writer?)"));
        Assert.That(Events(state).Where(e => e.StartsWith("runner", StringComparison.Ordinal) && e.Contains("failed", StringComparison.Ordinal)), Is.Empty);
        Assert.That(state.GetProperty("leaseExpiries").GetInt64(), Is.EqualTo(expiries));

        // A lease past its TTL (5 s, the default) would have expired by now: still running, still not failed.
        await Task.Delay(TimeSpan.FromSeconds(7));
        var later = await monitor.StateAsync();
        Assert.That(later, Is.Not.Null);
        Assert.That(State(later!.Value, "runner"), Is.EqualTo("deleted"));
        Assert.That(Events(later.Value), Has.None.Contains("failed: its lease expired"));
        Assert.That(runner.Exited, Is.False, "the peer runs on");
    }
}
