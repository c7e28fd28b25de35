using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.History;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Faults;

/// <summary>etcd at its quota (the NOSPACE alarm): named as such, live chat goes on, a joiner is told, and once an
/// operator has made room nothing sent meanwhile is lost or doubled.</summary>
public sealed class EtcdFullTests : EtcdFixture
{
    private const long Quota = 16L * 1024 * 1024;

    protected override Task<EtcdProcess> StartEtcdAsync() => EtcdProcess.StartAsync(quotaBytes: Quota);

    private static IEnumerable<string> Errors(PeerProcess peer) => peer.Of("error").Select(e => e.Str("message")!);

    /// <summary>Writes big values outside /mesh/ until etcd refuses for lack of space; returns how many it took.</summary>
    private async Task<int> FillAsync()
    {
        using var connection = new EtcdConnection([Etcd.Url]);
        var value = ByteString.CopyFrom(new byte[512 * 1024]);
        for (var i = 0; i < 200; i++)
        {
            try
            {
                await connection.KV.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8($"/filler/{i:D4}"), Value = value });
            }
            catch (RpcException e) when (EtcdConnection.IsNoSpace(e))
            {
                return i;
            }
        }

        throw new AssertionException($"etcd took 100 MiB with a quota of {Quota / (1024 * 1024)} MiB");
    }

    [Test]
    public async Task A_full_etcd_is_named_live_chat_goes_on_a_joiner_is_told_and_nothing_is_lost_once_it_has_room()
    {
        var group = NewGroup("full");
        var (amy, bo) = await StartPairAsync(group, "amy", "bo");
        await amy.SendAsync("before");
        await bo.WaitForAsync(p => Texts(p, group).Contains("before"), Long, "the first message");

        await FillAsync();
        var sent = Enumerable.Range(0, 20).Select(i => $"while full {i:D2}").ToList();
        await amy.SendManyAsync(sent);
        await bo.WaitForAsync(p => sent.All(Texts(p, group).Contains), Long, "live chat goes on");
        await amy.WaitForAsync(p => Errors(p).Any(e => e.StartsWith(HistoryWriter.FullMessage, StringComparison.Ordinal)), Long, "etcd named full");
        Assert.That(Errors(amy).Count(e => e.StartsWith(HistoryWriter.FullMessage, StringComparison.Ordinal)), Is.EqualTo(1), "said once, not per retry");
        Assert.That(Errors(amy), Has.None.Contains("unreachable"), "etcd answers: it is not unreachable");

        // A newcomer cannot register its presence in a full etcd: it says so in one line and exits.
        var cy = StartPeer("cy", group);
        await Waiting.UntilAsync(() => cy.Exited, Long, "the joiner to give up");
        Assert.That(cy.Tail(), Does.Contain("is full (NOSPACE alarm)").And.Not.Contain("unreachable").And.Not.Contain("   at "));

        // mesh monitor says so in plain words (etcd's own words are "memberID:… alarm:NOSPACE").
        // Given the quota etcd runs with (etcd does not tell it), it reports the database against it.
        using (var monitor = MonitorProcess.Start(Etcd.Url, "--etcd-quota", Quota.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            var state = await monitor.WaitForStateAsync(st => st.GetProperty("etcd").EnumerateArray().Any(e =>
                e.TryGetProperty("error", out var error) && error.GetString()?.StartsWith("NOSPACE alarm: its database is full", StringComparison.Ordinal) == true),
                Long, "the monitor naming the alarm");
            var member = state.GetProperty("etcd")[0];
            Assert.That(member.GetProperty("alarms").EnumerateArray().Select(a => a.GetString()), Is.EqualTo(new[] { "NOSPACE" }));
            Assert.That(member.GetProperty("quotaBytes").GetInt64(), Is.EqualTo(Quota));
            Assert.That(member.GetProperty("quotaPercent").GetDouble(), Is.GreaterThanOrEqualTo(80), "a full database is near or past its quota");
            Assert.That(state.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("text").GetString()),
                Has.Some.Contains("NOSPACE alarm: its database is full"), "an event says it");
        }

        // What an operator does (docs/monitoring.md): make room, compact, defragment, disarm.
        Assert.That(Etcd.Etcdctl("del", "--prefix", "/filler/").ExitCode, Is.EqualTo(0));
        Assert.That(Etcd.Etcdctl("compaction", Revision().ToString(System.Globalization.CultureInfo.InvariantCulture)).ExitCode, Is.EqualTo(0));
        Assert.That(Etcd.Etcdctl("defrag").ExitCode, Is.EqualTo(0));
        Assert.That(Etcd.Etcdctl("alarm", "disarm").ExitCode, Is.EqualTo(0));

        await amy.WaitForAsync(p => p.Of("info").Any(e => e.Str("message") == "history writes resumed"), Long, "history writes resumed (good news: info)");
        await MarkAsync(amy, group, bo);
        var history = (await HistoryAsync(group, bo.Home)).Select(m => m.Str("text")!).ToList();
        Assert.That(sent.Select(t => history.Count(h => h == t)), Is.All.EqualTo(1), "every message sent while full is in history once");
        var shown = Texts(bo, group);
        Assert.That(shown.Distinct().Count(), Is.EqualTo(shown.Count), "nothing shown twice");
    }
}
