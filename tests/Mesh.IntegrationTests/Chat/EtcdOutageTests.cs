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
}
