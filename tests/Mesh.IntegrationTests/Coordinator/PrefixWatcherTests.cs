using Etcdserverpb;
using Google.Protobuf;
using Mesh.Coordinator.Etcd;
using Mesh.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.IntegrationTests.Coordinator;

[Category("Integration")]
public sealed class PrefixWatcherTests
{
    private EtcdProcess _etcd = null!;
    private EtcdConnection _connection = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _etcd = await EtcdProcess.StartAsync();
        _connection = new EtcdConnection([_etcd.Url]);
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _connection?.Dispose();
        _etcd?.Dispose();
    }

    [Test]
    public async Task A_watch_that_catches_up_on_70_MB_of_changes_gets_them_in_fragments_and_every_change_once_in_order()
    {
        var prefix = $"/mesh/members/w-{Guid.NewGuid():N}/";
        var start = await _connection.CurrentRevisionAsync(CancellationToken.None) + 1;
        var junk = new byte[1_400_000];
        new Random(6).NextBytes(junk);
        var keys = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            keys.Add($"{prefix}junk{i:D2}");
            await _connection.KV.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(keys[^1]), Value = ByteString.CopyFrom(junk) });
        }

        // A transaction of several keys after the junk: its changes share one revision.
        var txn = new TxnRequest();
        for (var i = 0; i < 5; i++)
        {
            keys.Add($"{prefix}real{i}");
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(keys[^1]), Value = ByteString.CopyFromUtf8("record") } });
        }

        await _connection.KV.TxnAsync(txn);

        // Created now from a revision before the junk: etcd sends what it missed in batches of up to 1,000 revisions,
        // one answer of 70 MB unless it is fragmented.
        var seen = new List<KeyChange>();
        var calls = 0;
        var all = new TaskCompletionSource();
        await using var watcher = new PrefixWatcher(_connection, prefix, start, changes =>
        {
            calls++;
            seen.AddRange(changes);
            if (seen.Count >= keys.Count)
            {
                all.TrySetResult();
            }

            return ValueTask.CompletedTask;
        }, NullLogger.Instance);
        watcher.Start();
        await all.Task.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.That(seen.Select(c => c.Key), Is.EqualTo(keys), "each change once, in order");
        Assert.That(seen.Take(50).Select(c => c.Value.Length), Has.All.EqualTo(junk.Length));
        Assert.That(seen.Skip(50).Select(c => c.ModRevision).Distinct().Count(), Is.EqualTo(1), "the transaction's changes together");
        Assert.That(calls, Is.GreaterThan(1), "in more than one answer");
        await Waiting.UntilAsync(() => watcher.NextRevision == seen[^1].ModRevision + 1, TimeSpan.FromSeconds(10), "the resume revision after the last change");
        TestContext.Out.WriteLine($"{calls} hand-overs");
    }
}
