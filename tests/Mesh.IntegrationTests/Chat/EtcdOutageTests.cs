using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>When etcd goes away the peer says so at once, keeps chatting with connected members, and says when
/// etcd is back.</summary>
public sealed class EtcdOutageTests : EtcdFixture
{
    [Test]
    public async Task Losing_etcd_is_reported_at_once_chat_goes_on_and_its_return_is_reported()
    {
        var group = NewGroup("outage");
        var (a, b) = await StartPairAsync(group, "ada", "ben");

        Etcd.Kill();
        await a.WaitForAsync(p => p.Of("disconnected").Any(e => e.Str("target") == "etcd"), TimeSpan.FromSeconds(20), "disconnected from etcd");
        await a.WaitForAsync(p => p.Of("reconnecting").Any(e => e.Str("target") == "etcd" && e.GetProperty("retry_in_ms").GetInt64() > 0),
            TimeSpan.FromSeconds(20), "reconnecting with a retry delay");

        // The live path does not need etcd.
        await a.SendAsync("while etcd is down");
        await b.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "while etcd is down"), Long, "message over the link");

        await Etcd.StartAsync();
        await a.WaitForAsync(p => p.Of("reconnected").Any(e => e.Str("target") == "etcd"), TimeSpan.FromSeconds(60), "reconnected to etcd");
    }

    [Test]
    public async Task With_etcd_frozen_a_join_waiting_on_it_stalls_no_live_message()
    {
        var group = NewGroup("frozen");
        var other = NewGroup("other");
        var (a, b) = await StartPairAsync(group, "ada", "ben");

        // Frozen (SIGSTOP): connections stay open and nothing answers, so each etcd call of the join waits its 5 s.
        Etcd.Freeze();
        try
        {
            // A new name: the second /join confirms creating it.
            await a.SendAsync($"/join {other}");
            await a.SendAsync($"/join {other}");
            var during = Enumerable.Range(0, 5).Select(i => $"during {i}").ToList();
            await b.SendManyAsync(during);
            await a.WaitForAsync(p => Texts(p, group).Count(t => t.StartsWith("during ")) == during.Count, TimeSpan.FromSeconds(4),
                "ben's messages shown while ada's join waits on etcd");
            Assert.That(a.Of("ready").Any(e => e.Str("group") == other), Is.False, "the join had not finished");
            Assert.That(a.Of("error").Any(e => e.Str("message")!.Contains(other)), Is.False, "nor given up");
        }
        finally
        {
            Etcd.Thaw();
        }

        // Once etcd answers the join ends, one way or the other, and ada's next line still reaches ben.
        await a.WaitForAsync(p => p.Of("ready").Any(e => e.Str("group") == other) || p.Of("error").Any(e => e.Str("message")!.Contains(other)),
            Long, "the join ends");
        await a.SendAsync("after the freeze");
        await b.WaitForAsync(p => Texts(p, group).Contains("after the freeze"), Long, "ada's line after the join");
    }

    [Test]
    public async Task With_etcd_frozen_lines_typed_after_a_join_in_another_group_leave_at_once_and_reach_history()
    {
        var group = NewGroup("typed");
        var other = NewGroup("elsewhere");
        var (a, b) = await StartPairAsync(group, "ada", "ben");

        Etcd.Freeze();
        List<string> mine = [.. Enumerable.Range(0, 5).Select(i => $"mine {i}")];
        try
        {
            // The join waits on etcd in the lane of its group; ada's lines in her first group go on without it.
            await a.SendAsync($"/join {other}");
            await a.SendAsync($"/join {other}");
            foreach (var line in mine)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                await a.SendAsync(line);
                await b.WaitForAsync(p => Texts(p, group).Contains(line), TimeSpan.FromSeconds(3), $"'{line}' at ben while ada's join waits on etcd");
                TestContext.Out.WriteLine($"'{line}' reached ben after {clock.ElapsedMilliseconds} ms");
            }

            Assert.That(a.Of("ready").Any(e => e.Str("group") == other), Is.False, "the join had not finished");
        }
        finally
        {
            Etcd.Thaw();
        }

        await a.WaitForAsync(p => p.Of("ready").Any(e => e.Str("group") == other) || p.Of("error").Any(e => e.Str("message")!.Contains(other)),
            Long, "the join ends");
        var marker = await MarkAsync(a, group, b);
        // Written to history once etcd answers again (the marker after them): each line once, in the order typed.
        List<string?> history = [];
        await Waiting.UntilAsync(async () =>
        {
            history = (await HistoryAsync(group, b.Home)).Select(m => m.Str("text")).ToList();
            return history.Contains(marker);
        }, Long, "the marker in history");
        Assert.That(history.Where(t => t!.StartsWith("mine ")), Is.EqualTo(mine));
    }
}
