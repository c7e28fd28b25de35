using System.Diagnostics;
using Etcdserverpb;
using Google.Protobuf;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Security;

/// <summary>Whatever an etcd writer stores under a group's prefixes, joining reads every record around it.</summary>
public sealed class EtcdJunkTests : EtcdFixture
{
    /// <summary>Writes a value of 1.4 MB under each key (each under etcd's 1.5 MiB request limit).</summary>
    private static async Task WriteJunkAsync(EtcdConnection etcd, IEnumerable<string> keys)
    {
        var junk = new byte[1_400_000];
        new Random(70).NextBytes(junk);
        foreach (var key in keys)
        {
            await etcd.KV.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFrom(junk) });
        }
    }

    [Test]
    public async Task Seventy_megabytes_of_junk_between_the_messages_of_a_group_neither_stops_a_join_nor_hides_a_message()
    {
        var group = NewGroup("junk");
        var writer = StartPeer("writer", group);
        await writer.WaitReadyAsync(group, Long);
        string[] texts = ["one", "two", "three", "four", "five"];
        foreach (var text in texts)
        {
            // Each shown before the next is typed: five keys of one message each.
            await writer.SendAsync(text);
            await writer.WaitForAsync(p => Texts(p, group).Contains(text), Long, $"'{text}' sent");
        }

        var prefix = MeshKeys.HistoryPrefix(group);
        await Waiting.UntilAsync(() => Etcd.CountMessages(prefix) == texts.Length, Long, "the messages in history");

        // After each message, ten values of 1.4 MB whose keys sort right after the message's: 70 MB between the messages.
        using var etcd = new EtcdConnection([Etcd.Url]);
        var keys = await etcd.KV.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(prefix), RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)), KeysOnly = true });
        await WriteJunkAsync(etcd, keys.Kvs.SelectMany(kv => Enumerable.Range(0, 10).Select(i => $"{kv.Key.ToStringUtf8()}~junk{i}")));

        await writer.SendAsync("after the junk");
        await Waiting.UntilAsync(() => Etcd.CountMessages(prefix) == texts.Length + 51, Long, "the last message in history");

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

        // Back from its copy: the names of the junk are in it (their values left out), so the copy and etcd agree.
        Assert.That(await reader.CloseAsync(), Is.EqualTo(0));
        clock.Restart();
        var back = Track(PeerProcess.Start(Etcd.Url, "reader", [group], reader.Home));
        await back.WaitReadyAsync(group, Long);
        TestContext.Out.WriteLine($"back from its copy: ready {clock.ElapsedMilliseconds} ms after start");
        await back.WaitForAsync(p => p.Messages(group).Count == texts.Length + 2, Long, "every message again");
        Assert.That(back.Of("error", group).Select(e => e.Str("message")), Has.None.Contains("reading it all again"));
        Assert.That(back.Of("error").Select(e => e.Str("message")), Has.None.Contains("reading it all again"));
        Assert.That(Directory.EnumerateFiles(Path.Combine(reader.Home, "history"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length),
            Is.LessThan(1_000_000), "no junk value in the copy");

        var (code, stdout, stderr) = await MeshCli.RunAsync("history", group, "--etcd", Etcd.Url, "--home", reader.Home);
        Assert.That(code, Is.EqualTo(0), stderr);
        var printed = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[(l.LastIndexOf(": ", StringComparison.Ordinal) + 2)..]);
        Assert.That(printed, Is.EqualTo(texts.Append("after the junk").Append("live")));
        Assert.That(stderr, Does.Contain("50 of them larger than any message"));
        Assert.That(back.Exited || writer.Exited, Is.False);
    }

    [Test]
    public async Task Seventy_megabytes_of_junk_under_a_groups_members_neither_stops_a_join_nor_the_members_online()
    {
        var group = NewGroup("junkmem");
        var anna = StartPeer("anna", group);
        await anna.WaitReadyAsync(group, Long);
        using (var etcd = new EtcdConnection([Etcd.Url]))
        {
            await WriteJunkAsync(etcd, Enumerable.Range(0, 50).Select(i => MeshKeys.Member(group, $"junk{i:D2}")));
        }

        var clock = Stopwatch.StartNew();
        var cleo = StartPeer("cleo", group);
        await cleo.WaitReadyAsync(group, Long);
        TestContext.Out.WriteLine($"ready {clock.ElapsedMilliseconds} ms after start");
        await cleo.WaitForAsync(p => OnlineNames(p, group).Contains("anna"), Long, "anna online");
        await anna.WaitForAsync(p => OnlineNames(p, group).Contains("cleo"), Long, "cleo online");
        await anna.SendAsync("hello cleo");
        await cleo.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "hello cleo"), Long, "anna's message");
        await cleo.SendAsync("hello anna");
        await anna.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "hello anna"), Long, "cleo's message");
        Assert.That(File.ReadAllText(cleo.StderrPath), Does.Not.Contain("exceeds the maximum"));
        Assert.That(anna.Exited || cleo.Exited, Is.False);
    }
}
