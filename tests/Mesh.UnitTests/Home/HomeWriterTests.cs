using System.Collections.Concurrent;
using System.Text;
using Mesh.Coordinator.History;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Home;
using Mesh.Peer.Identity;
using Mesh.UnitTests.Protocol;

namespace Mesh.UnitTests.Home;

[Category("Unit")]
public sealed class HomeWriterTests
{
    private string _home = "";
    private EpochKeyring _keyring = null!;
    private GroupLogCopy _logs = null!;
    private HomeWriter _writer = null!;
    private PeerIdentity _me = null!;

    /// <summary>The loop's twin: what the writer posted back, run only when the test says so.</summary>
    private readonly ConcurrentQueue<Action> _loop = new();
    private readonly ConcurrentQueue<string?> _postedFrom = new();
    private readonly List<string> _failures = [];

    [SetUp]
    public void Start()
    {
        _home = Path.Combine(Path.GetTempPath(), $"mesh-home-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_home);
        _me = Identities.New();
        _keyring = new EpochKeyring(_home);
        _logs = new GroupLogCopy(_home);
        _writer = NewWriter(new Outbox(OutboxPath));
    }

    [TearDown]
    public async Task Stop()
    {
        await _writer.DisposeAsync();
        _me.Dispose();
        Directory.Delete(_home, recursive: true);
    }

    private string OutboxPath => Path.Combine(_home, "outbox");

    private string HistoryPath => Path.Combine(_home, "history");

    private HomeWriter NewWriter(Outbox outbox)
    {
        outbox.Recover();
        var writer = new HomeWriter(outbox, new LocalHistory(HistoryPath), _keyring.Files, _logs, action =>
        {
            _postedFrom.Enqueue(Thread.CurrentThread.Name);
            _loop.Enqueue(action);
        });
        writer.WriteFailed += _failures.Add;
        return writer;
    }

    /// <summary>Runs on the test's thread (the loop) what the writer posted so far.</summary>
    private int RunLoop()
    {
        var ran = 0;
        while (_loop.TryDequeue(out var action))
        {
            action();
            ran++;
        }

        return ran;
    }

    private static HistoryEntry[] Entries(int from, int count, string group = "g") =>
        [.. Enumerable.Range(from, count).Select(i => new HistoryEntry(group, $"{i:D13}-peer", Encoding.UTF8.GetBytes($"sealed {i}")))];

    private GroupLog NewLog(string group = "g") =>
        GroupLog.TryStart(group, GroupCommits.Genesis(group, LogEntry.Open, _me, "amy", 1).Record, out var error) ?? throw new AssertionException(error);

    [Test]
    public async Task Bursts_are_done_on_the_loop_in_the_order_handed_over_and_land_in_that_order()
    {
        var done = new List<(int Burst, Exception? Failure, int Thread)>();
        for (var i = 0; i < 3; i++)
        {
            var burst = i;
            _writer.AppendOutbox(Entries(burst * 10, 10), failure => done.Add((burst, failure, Environment.CurrentManagedThreadId)));
        }

        await _writer.FlushAsync();
        Assert.That(done, Is.Empty, "nothing runs on the writer's thread: it only posts");
        Assert.That(_postedFrom, Is.All.EqualTo("mesh-home"));
        Assert.That(RunLoop(), Is.EqualTo(3));
        Assert.That(done.Select(d => d.Burst), Is.EqualTo(new[] { 0, 1, 2 }));
        Assert.That(done.Select(d => d.Failure), Is.All.Null);
        Assert.That(done.Select(d => d.Thread), Is.All.EqualTo(Environment.CurrentManagedThreadId));

        await _writer.DisposeAsync();
        using var again = new Outbox(OutboxPath);
        Assert.That(again.Recover().Entries.Select(e => e.Name), Is.EqualTo(Entries(0, 30).Select(e => e.Name)));
    }

    [Test]
    public async Task A_read_handed_over_after_writes_sees_them()
    {
        using var key = GroupKey.Create();
        var log = NewLog();
        _writer.AppendCopy("g", Entries(0, 3), 7);
        _writer.SaveKeys("g", new Dictionary<long, GroupKey> { [1] = key });
        _writer.SaveLogCopy(log);

        var copy = await _writer.LoadCopyAsync("g");
        Assert.That(copy.Entries.Select(e => e.Name), Is.EqualTo(Entries(0, 3).Select(e => e.Name)));
        Assert.That(copy.Revision, Is.EqualTo(7));
        Assert.That((await _writer.LoadKeysAsync("g"))[1].Check("g", 1), Is.EqualTo(key.Check("g", 1)));
        Assert.That((await _writer.LoadLogCopyAsync("g"))!.HeadHash, Is.EqualTo(log.HeadHash));
    }

    [Test]
    public async Task What_is_handed_over_is_a_snapshot_the_caller_may_change_at_once()
    {
        using var one = GroupKey.Create();
        using var two = GroupKey.Create();
        var entries = Entries(0, 2).ToList();
        var keys = new Dictionary<long, GroupKey> { [1] = one };
        var log = NewLog();
        _writer.AppendCopy("g", entries, 5);
        _writer.SaveKeys("g", keys);
        _writer.SaveLogCopy(log);
        entries.Clear();
        keys[2] = two;
        Assert.That(log.TryApply(GroupCommits.Rotate(log, _me, null, 2).Record, out var error), Is.True, error);

        Assert.That((await _writer.LoadCopyAsync("g")).Entries, Has.Count.EqualTo(2));
        Assert.That((await _writer.LoadKeysAsync("g")).Keys, Is.EqualTo(new long[] { 1 }));
        Assert.That((await _writer.LoadLogCopyAsync("g"))!.Head, Is.Zero);
    }

    [Test]
    public async Task A_failed_write_is_reported_on_the_loop_and_the_next_writes_land()
    {
        using var key = GroupKey.Create();
        File.WriteAllText(Path.Combine(_home, "keys"), "a file where the keys directory goes");
        _writer.SaveKeys("g", new Dictionary<long, GroupKey> { [1] = key });
        _writer.SaveLogCopy(NewLog());
        Exception? burst = new InvalidOperationException("not done");
        _writer.AppendOutbox(Entries(0, 1), failure => burst = failure);

        await _writer.FlushAsync();
        Assert.That(_failures, Is.Empty, "reported through the loop only");
        RunLoop();
        Assert.That(_failures.Single(), Does.StartWith("the keys of 'g' not written: "));
        Assert.That(burst, Is.Null);
        Assert.That(await _writer.LoadLogCopyAsync("g"), Is.Not.Null);
    }

    [Test]
    public async Task A_full_outbox_refuses_a_burst_through_its_done_and_the_next_burst_that_fits_lands()
    {
        await _writer.DisposeAsync();
        _writer = NewWriter(new Outbox(OutboxPath, maxBytes: 500));
        var done = new List<Exception?>();
        _writer.AppendOutbox(Entries(0, 20), done.Add);
        _writer.AppendOutbox(Entries(20, 1), done.Add);

        await _writer.FlushAsync();
        RunLoop();
        Assert.That(done[0], Is.InstanceOf<OutboxFullException>());
        Assert.That(done[1], Is.Null);
    }

    [Test]
    public async Task Disposing_writes_everything_handed_over_and_closes_the_stores()
    {
        for (var i = 0; i < 100; i++)
        {
            _writer.AppendOutbox(Entries(i * 5, 5), _ => { });
            _writer.AppendCopy("g", Entries(i * 5, 5), i + 1);
        }

        await _writer.DisposeAsync();
        Assert.That(() => _writer.AppendCopy("g", Entries(0, 1), 1), Throws.InstanceOf<ObjectDisposedException>());
        using var outbox = new Outbox(OutboxPath);
        Assert.That(outbox.Recover().Entries, Has.Count.EqualTo(500));
        using var local = new LocalHistory(HistoryPath);
        var copy = local.Load("g");
        Assert.That(copy.Entries, Has.Count.EqualTo(500));
        Assert.That(copy.Revision, Is.EqualTo(100), "closing wrote the last revision down");
    }

    [Test]
    public async Task A_read_that_fails_faults_its_task_alone_and_continuations_never_run_on_the_writer_thread()
    {
        var read = _writer.ReadAsync<int>(() => throw new IOException("unreadable"));
        Assert.That(async () => await read, Throws.InstanceOf<IOException>());
        var thread = await _writer.ReadAsync(() => 1).ContinueWith(_ => Thread.CurrentThread.Name, TaskContinuationOptions.ExecuteSynchronously);
        Assert.That(thread, Is.Not.EqualTo("mesh-home"));
        Assert.That(RunLoop(), Is.Zero, "a failed read is not a failed write");
    }

    [Test]
    public async Task An_idle_writer_sleeps_and_an_idle_checkpoint_does_not_wake_it()
    {
        _writer.AppendCopy("g", Entries(0, 1), 1);
        _writer.Checkpoint();
        await _writer.FlushAsync();
        RunLoop();
        Assert.That(SpinWait.SpinUntil(() => _writer.Sleeping, TimeSpan.FromSeconds(10)), Is.True);

        for (var i = 0; i < 20; i++)
        {
            _writer.Checkpoint();
            Thread.Sleep(5);
            Assert.That(_writer.Sleeping, Is.True, "nothing was handed over");
        }

        Assert.That(RunLoop(), Is.Zero);
    }

    [Test]
    public async Task A_keyring_writing_through_it_changes_memory_at_once_and_its_files_in_order()
    {
        using var one = GroupKey.Create();
        using var two = GroupKey.Create();
        _keyring.WriteThrough(_writer);
        _keyring.Save("g", [(1, one), (2, two)]);
        Assert.That(_keyring.TryGet("g", 2), Is.SameAs(two), "in memory before any file is written");
        _keyring.Retire("g", 1);
        Assert.That(_keyring.TryGet("g", 1), Is.Null);

        await _writer.FlushAsync();
        var reread = new EpochKeyring(_home);
        Assert.That(reread.Of("g").Keys, Is.EqualTo(new long[] { 2 }));
        Assert.That(File.Exists(Path.Combine(_home, "keys", "g.retired")), Is.True);

        var loaded = new EpochKeyring(_home);
        loaded.WriteThrough(_writer);
        await loaded.LoadAsync("g");
        Assert.That(loaded.TryGet("g", 2)!.Check("g", 2), Is.EqualTo(two.Check("g", 2)));

        Assert.That(() => _keyring.MoveAside("g", Path.Combine(_home, "aside")), Throws.InvalidOperationException);
        await _keyring.MoveAsideAsync("g", Path.Combine(_home, "aside"));
        Assert.That(_keyring.Of("g"), Is.Empty);
        Assert.That(File.Exists(Path.Combine(_home, "aside", "g.epochs")), Is.True);
        Assert.That(RunLoop(), Is.Zero, "no failure");
    }

    [Test]
    public async Task A_group_log_copy_writing_through_it_saves_and_loads_in_order()
    {
        var log = NewLog();
        _logs.WriteThrough(_writer);
        _logs.Save(log);
        Assert.That((await _logs.LoadAsync("g"))!.HeadHash, Is.EqualTo(log.HeadHash));
        await _logs.MoveAsideAsync("g", Path.Combine(_home, "aside"));
        Assert.That(await _logs.LoadAsync("g"), Is.Null);
        Assert.That(File.Exists(Path.Combine(_home, "aside", "g.group.log")), Is.True);
    }
}
