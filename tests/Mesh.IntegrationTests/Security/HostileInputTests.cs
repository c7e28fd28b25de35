using System.Net.Sockets;
using System.Text.Json;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Security;

/// <summary>Garbage at a running peer's port, and corrupt records in etcd, never stop it from chatting.</summary>
public sealed class HostileInputTests : EtcdFixture
{
    [Test]
    public async Task Random_bytes_truncated_handshakes_and_oversized_frames_leave_a_peer_running_and_chatting()
    {
        var group = NewGroup("hostile");
        var (target, friend) = await StartPairAsync(group, "target", "friend");
        var (_, members, _) = await MeshCli.RunAsync("members", group, "--json", "--etcd", Etcd.Url);
        var endpoint = members.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).Single(m => m.Str("name") == "target").Str("endpoint")!;
        var port = int.Parse(endpoint[(endpoint.LastIndexOf(':') + 1)..]);

        var random = new Random(11);
        var greeting = new byte[] { 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0 };
        for (var i = 0; i < 60; i++)
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port);
            var stream = client.GetStream();
            byte[] payload = (i % 3) switch
            {
                // Random bytes.
                0 => RandomBytes(random, random.Next(1, 4096)),
                // A ZMTP greeting cut short, mid-handshake.
                1 => greeting[..random.Next(1, greeting.Length)],
                // A valid greeting start, then a frame header announcing 2^62 bytes.
                _ => [.. greeting, .. "CURVE"u8, .. new byte[15], 0, 0x02, 0x40, 0, 0, 0, 0, 0, 0, 0],
            };
            try
            {
                await stream.WriteAsync(payload);
                await stream.FlushAsync();
            }
            catch (IOException)
            {
                // The peer may hang up on us first: that is a fine answer to garbage.
            }
        }

        await target.SendAsync("still chatting");
        await friend.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "still chatting"), Long, "message after the garbage");
        await friend.SendAsync("and hearing");
        await target.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "and hearing"), Long, "message back");
        Assert.That(target.Exited, Is.False);
        Assert.That(await target.CloseAsync(), Is.EqualTo(0));
    }

    [Test]
    public async Task Corrupt_and_foreign_records_in_etcd_are_skipped_with_a_warning()
    {
        var group = NewGroup("corrupt");
        var writer = StartPeer("writer", group);
        await writer.WaitReadyAsync(group);
        await writer.SendAsync("good one");
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 1, Long, "1 in history");

        Assert.That(Etcd.Etcdctl("put", $"/mesh/history/{group}/0000000000001-garbage", "\u0001not json at all").ExitCode, Is.EqualTo(0));
        Assert.That(Etcd.Etcdctl("put", $"/mesh/history/{group}/0000000000002-json", "{\"v\":2,\"g\":\"x\"}").ExitCode, Is.EqualTo(0));
        Assert.That(Etcd.Etcdctl("put", $"/mesh/members/{group}/ffffffffffffffffffffffffffffffff", "{\"peer\":1}").ExitCode, Is.EqualTo(0));
        Assert.That(Etcd.Etcdctl("put", $"/mesh/keys/{group}/ffffffffffffffffffffffffffffffff", "[[[").ExitCode, Is.EqualTo(0));

        // Totals every 2 s instead of 10 s: the test waits for the first one.
        var reader = Track(PeerProcess.Start(Etcd.Url, "reader", [group], null, new Dictionary<string, string> { ["MESH_REJECTION_INTERVAL"] = "2s" }));
        await reader.WaitReadyAsync(group, Long);
        await writer.SendAsync("after the junk");
        await reader.WaitForAsync(p => p.Messages(group).Count == 2, Long, "both good messages");
        Assert.That(reader.Messages(group).Select(m => m.Str("text")), Is.EqualTo(new[] { "good one", "after the junk" }));
        // Rejections are counted and logged as totals (a few lines a minute, however many): the first total comes
        // within a tick or so.
        await Waiting.UntilAsync(() => File.ReadAllText(reader.StderrPath).Contains($"skipped 2 history entries in '{group}'"), Long, "the skipped entries logged as one total");
        Assert.That(writer.Exited, Is.False);

        var (code, _, stderr) = await MeshCli.RunAsync("history", group, "--etcd", Etcd.Url, "--home", writer.Home);
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stderr, Does.Contain("skipped 2"));
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    [Test]
    public async Task A_member_advertising_an_endpoint_that_cannot_be_connected_to_crashes_no_one()
    {
        var group = NewGroup("junkend");
        var a = StartPeer("anna", group);
        await a.WaitReadyAsync(group);
        var junk = StartPeer("junk", [group], null, "--bind", $"tcp://127.0.0.1:{FreePort.Next()}", "--advertise", "tcp://nonexistent.invalid:5555");
        await a.WaitForAsync(p => p.Of("joined", group).Any(e => e.Str("name") == "junk"), Long, "the junk member admitted and seen");
        var c = StartPeer("cleo", group);
        await c.WaitReadyAsync(group, Long);
        await a.SendAsync("still here");
        await c.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "still here"), Long, "anna still chats");
        await c.SendAsync("me too");
        await a.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "me too"), Long, "and hears cleo");
        Assert.That(a.Exited || c.Exited, Is.False);
        Assert.That(junk.Exited, Is.False);
    }

    [Test]
    public async Task Terminal_escapes_in_messages_never_reach_a_terminal_through_mesh_history()
    {
        var group = NewGroup("escape");
        var sender = StartPeer("esc", group);
        await sender.WaitReadyAsync(group);
        // (A line break cannot come through headless input, which splits lines; TerminalTextTests covers it.)
        await sender.SendAsync("title\u001b]0;pwned\u0007 clear\u001b[2J c1\u009b31m bidi\u202eevil");
        await sender.SendAsync("marker");
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 2, Long, "both in history");

        var (code, stdout, _) = await MeshCli.RunAsync("history", group, "--etcd", Etcd.Url, "--home", sender.Home);
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout, Does.Contain("marker"));
        Assert.That(stdout.Where(c => char.IsControl(c) && c != '\n'), Is.Empty, "no control character printed");
        Assert.That(stdout, Does.Not.Contain("\u202e"));
        Assert.That(stdout, Does.Contain("title\uFFFD]0;pwned\uFFFD clear\uFFFD[2J"), "each control shown as U+FFFD, the rest as sent");
    }

    [Test]
    public async Task A_member_flooding_its_link_with_junk_costs_a_few_log_lines_and_is_dropped_for_a_while()
    {
        var group = NewGroup("flood");
        var (member, friend) = await StartPairAsync(group, "mia", "fred");
        // Signed presence in an open group: the members admit it, and subscribe to what it publishes.
        await using var rogue = await RoguePublisher.StartAsync(Etcd, group, signed: true);
        await Waiting.UntilAsync(() => rogue.Subscribers >= 2, Long, "both members subscribed to the rogue");
        var before = File.ReadAllLines(member.StderrPath).Length;

        for (var i = 0; i < 20_000; i++)
        {
            rogue.Publish($"junk {i}");
        }

        await member.WaitForAsync(p => p.Of("error").Any(e => e.Str("message")!.Contains("dropped for 60 s")), Long, "the flooding link dropped");
        await friend.SendAsync("still here");
        await member.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "still here"), Long, "chat goes on");
        await Waiting.UntilAsync(() => File.ReadAllText(member.StderrPath).Contains("frames from " + rogue.PeerId), Long, "the rejections logged as a total");
        var added = File.ReadAllLines(member.StderrPath).Length - before;
        TestContext.Out.WriteLine($"log lines for 20,000 junk frames: {added}");
        Assert.That(added, Is.LessThan(30), "a flood costs a few lines, not one per frame");
        Assert.That(member.Messages(group).Select(m => m.Str("text")), Has.None.StartsWith("junk"));
        Assert.That(member.Exited, Is.False);
    }
}
