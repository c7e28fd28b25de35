using System.Diagnostics;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>A link to a member that freezes is declared lost by heartbeat, and comes back when the member does.</summary>
public sealed class LinkTests : EtcdFixture
{
    [Test]
    public async Task A_frozen_member_is_reported_disconnected_within_the_heartbeat_timeout_and_reconnected_after()
    {
        var group = NewGroup("link");
        var watcher = StartPeer("wanda", group);
        await watcher.WaitReadyAsync(group);
        // A long lease: what is tested here is the link's own heartbeat, not presence.
        var frozen = StartPeer("fred", [group], null, "--lease-ttl", "60");
        await frozen.WaitReadyAsync(group);
        await watcher.WaitForAsync(p => OnlineNames(p, group).Contains("fred") && p.Of("joined").Count > 0, Long, "fred online");
        await frozen.SendAsync("before the freeze");
        await watcher.WaitForAsync(p => p.Messages(group).Count == 1, Long, "first message");

        var clock = Stopwatch.StartNew();
        frozen.Signal(PeerProcess.SIGSTOP);
        await watcher.WaitForAsync(p => p.Of("disconnected").Any(e => e.Str("target") == "fred" && e.Str("kind") == "member"),
            TimeSpan.FromSeconds(20), "link to fred lost");
        TestContext.Out.WriteLine($"link loss reported {clock.ElapsedMilliseconds} ms after SIGSTOP");
        Assert.That(watcher.Of("left", group), Is.Empty, "its lease still holds: lost link, not a departure");

        frozen.Signal(PeerProcess.SIGCONT);
        await watcher.WaitForAsync(p => p.Of("reconnected").Any(e => e.Str("target") == "fred"), TimeSpan.FromSeconds(30), "link to fred back");
        await frozen.SendAsync("after the thaw");
        await watcher.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "after the thaw"), Long, "message after the thaw");
    }
}
