using System.Diagnostics;
using Etcdserverpb;
using Google.Protobuf;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Security;

/// <summary>Whatever an etcd writer stores under a group's history, joining reads every message around it.</summary>
public sealed class HistoryJunkTests : EtcdFixture
{
    [Test]
    public async Task Seventy_megabytes_of_junk_between_the_messages_of_a_group_neither_stops_a_join_nor_hides_a_message()
    {
        var group = NewGroup("junk");
        var writer = StartPeer("writer", group);
        await writer.WaitReadyAsync(group, Long);
        string[] texts = ["one", "two", "three", "four", "five"];
        foreach (var text in texts)
        {
            await writer.SendAsync(text);
        }

        var prefix = MeshKeys.HistoryPrefix(group);
        await Waiting.UntilAsync(() => Etcd.CountKeys(prefix).Count == texts.Length, Long, "the messages in history");

        // After each message, ten values of 1.4 MB (each under etcd's 1.5 MiB request limit) whose keys sort right
        // after the message's: 70 MB between the messages.
        using var etcd = new EtcdConnection([Etcd.Url]);
        var keys = await etcd.KV.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(prefix), RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)), KeysOnly = true });
        var junk = new byte[1_400_000];
        new Random(70).NextBytes(junk);
        foreach (var kv in keys.Kvs)
        {
            for (var i = 0; i < 10; i++)
            {
                await etcd.KV.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8($"{kv.Key.ToStringUtf8()}~junk{i}"), Value = ByteString.CopyFrom(junk) });
            }
        }

        await writer.SendAsync("after the junk");
        await Waiting.UntilAsync(() => Etcd.CountKeys(prefix).Count == texts.Length + 51, Long, "the last message in history");

        var clock = Stopwatch.StartNew();
        var reader = StartPeer("reader", group);
        await reader.WaitReadyAsync(group, Long);
        var ready = clock.Elapsed;
        await reader.WaitForAsync(p => p.Messages(group).Count == texts.Length + 1, Long, "every message");
        TestContext.Out.WriteLine($"ready {ready.TotalMilliseconds:F0} ms after start, every message after {clock.ElapsedMilliseconds} ms");
        Assert.That(reader.Messages(group).Select(m => m.Str("text")), Is.EqualTo(texts.Append("after the junk")), "every message, in order");

        await Waiting.UntilAsync(() => File.ReadAllText(reader.StderrPath).Contains("left out 50 history values"), Long, "one warning naming the count");
        var log = File.ReadAllText(reader.StderrPath);
        Assert.That(log.Split('\n').Count(l => l.Contains("history values larger than any message", StringComparison.Ordinal)), Is.EqualTo(1), "one line, not one a value");
        Assert.That(log, Does.Not.Contain("exceeds the maximum"));

        await writer.SendAsync("live");
        await reader.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "live"), Long, "live chat after the join");

        var (code, stdout, stderr) = await MeshCli.RunAsync("history", group, "--etcd", Etcd.Url, "--home", reader.Home);
        Assert.That(code, Is.EqualTo(0), stderr);
        var printed = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[(l.LastIndexOf(": ", StringComparison.Ordinal) + 2)..]);
        Assert.That(printed, Is.EqualTo(texts.Append("after the junk").Append("live")));
        Assert.That(stderr, Does.Contain("50 of them larger than any message"));
        Assert.That(reader.Exited || writer.Exited, Is.False);
    }
}
