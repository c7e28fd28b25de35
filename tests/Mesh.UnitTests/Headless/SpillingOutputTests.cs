using System.Text;
using Mesh.Peer.Headless;
using Mesh.Testing;

namespace Mesh.UnitTests.Headless;

[Category("Unit")]
public sealed class SpillingOutputTests
{
    private const long Bound = 64 * 1024;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly List<(SpillingOutput Output, GatedSink Sink)> _outputs = [];
    private string _home = "";

    [SetUp]
    public void Start() => _home = Path.Combine(Path.GetTempPath(), $"mesh-spill-{Guid.NewGuid():N}");

    [TearDown]
    public async Task Stop()
    {
        // A test that failed may leave its sink shut: open it, or the output's thread never ends.
        foreach (var (output, sink) in _outputs)
        {
            sink.Open();
            await output.DisposeAsync().AsTask().WaitAsync(Timeout);
        }

        _outputs.Clear();
        if (Directory.Exists(_home))
        {
            Directory.Delete(_home, recursive: true);
        }
    }

    private string SpillPath => Path.Combine(_home, "spill", "stdout-1.jsonl");

    private SpillingOutput NewOutput(GatedSink sink, long bound = Bound)
    {
        var output = new SpillingOutput(sink, new SpillFile(SpillPath), bound);
        _outputs.Add((output, sink));
        return output;
    }

    /// <summary>Numbered lines of <see cref="LineBytes"/> each: <paramref name="count"/> of them from <paramref name="first"/>.</summary>
    private static List<byte[]> Lines(int count, int first = 0) =>
        Enumerable.Range(first, count).Select(i => Encoding.UTF8.GetBytes($"{{\"n\":{i:D6},\"text\":\"{new string((char)('a' + i % 26), 77)}\"}}\n")).ToList();

    private const int LineBytes = 100;

    private static byte[] Joined(IEnumerable<byte[]> lines) => lines.SelectMany(l => l).ToArray();

    /// <summary>Opens the sink, completes the output, and checks that the sink got <paramref name="lines"/>, each once,
    /// in order.</summary>
    private static async Task DrainedAsync(SpillingOutput output, GatedSink sink, IEnumerable<byte[]> lines, string because = "every line, once, in the order added")
    {
        sink.Open();
        output.Complete();
        await output.Completion.WaitAsync(Timeout);
        Assert.That(sink.Bytes, Is.EqualTo(Joined(lines)), because);
    }

    /// <summary>Waits until the spill thread has appended everything on its way to the file.</summary>
    private static Task SettledAsync(SpillingOutput output) =>
        Waiting.UntilAsync(() => output.WaitingToSpill == 0, Timeout, "the spill thread appended what was on its way");

    [Test]
    public async Task Adding_never_waits_for_a_sink_that_does_not_take_anything()
    {
        var sink = new GatedSink();
        var output = NewOutput(sink);
        var lines = Lines(10_000);

        // A million bytes against a bound of 64 KiB while the sink's first write is stuck: every add returns.
        await Task.Run(() => lines.ForEach(l => output.Add(l))).WaitAsync(Timeout);
        Assert.That(sink.Writes, Is.Zero, "the sink took nothing");
        Assert.That(output.HeldInMemory + output.WaitingToSpill + output.Spilled, Is.EqualTo(lines.Sum(l => l.Length)));
        await SettledAsync(output);
        Assert.That(output.HeldInMemory + output.Spilled, Is.EqualTo(lines.Sum(l => l.Length)));
    }

    [Test]
    public async Task What_a_blocked_sink_leaves_spills_and_then_reaches_it_once_in_order()
    {
        var sink = new GatedSink();
        var output = NewOutput(sink);
        var lines = Lines(10_000);
        lines.ForEach(l => output.Add(l));
        await SettledAsync(output);
        Assert.That(File.Exists(SpillPath), Is.True, "beyond the bound, the spill file took the rest");
        Assert.That(output.HeldInMemory, Is.LessThanOrEqualTo(Bound));
        Assert.That(output.Spilled, Is.EqualTo(lines.Sum(l => l.Length) - output.HeldInMemory), "what memory does not hold waits on disk");
        Assert.That(new FileInfo(SpillPath).Length, Is.EqualTo(output.Spilled));

        await DrainedAsync(output, sink, lines);
    }

    [Test]
    public async Task Once_anything_waits_on_disk_what_comes_next_goes_there_too_until_it_drains()
    {
        var sink = new GatedSink();
        var output = NewOutput(sink);
        var lines = Lines(2_000);
        Assert.That(lines.All(l => l.Length == LineBytes));
        lines.ForEach(l => output.Add(l));
        await SettledAsync(output);
        var inMemory = (int)(Bound / LineBytes);
        Assert.That(output.HeldInMemory, Is.EqualTo(inMemory * LineBytes));

        // The sink takes what memory held, then sticks at the spill's first piece: memory is empty, the spill is not.
        sink.ShutAfter(inMemory);
        sink.Open();
        await Waiting.UntilAsync(() => sink.Writes == inMemory && output.HeldInMemory == 0, Timeout, "memory written");
        var spilled = output.Spilled;
        output.Add(Lines(1, first: 2_000)[0]);
        Assert.That(output.HeldInMemory, Is.Zero, "not in memory, ahead of what waits on disk");
        await SettledAsync(output);
        Assert.That(output.Spilled, Is.EqualTo(spilled + LineBytes));
    }

    [Test]
    public void Memory_held_stays_within_the_bound_while_the_sink_is_blocked()
    {
        var sink = new GatedSink();
        var output = NewOutput(sink);
        foreach (var line in Lines(10_000))
        {
            output.Add(line);
            Assert.That(output.HeldInMemory, Is.LessThanOrEqualTo(Bound));
        }

        Assert.That(output.PeakHeldInMemory, Is.LessThanOrEqualTo(Bound));
        Assert.That(output.PeakHeldInMemory, Is.GreaterThan(Bound - LineBytes), "memory took what fitted before the spill");
    }

    [Test]
    public async Task Lines_added_while_the_spill_drains_follow_it_and_memory_takes_over_once_it_is_empty()
    {
        var sink = new GatedSink();
        var output = NewOutput(sink);
        var first = Lines(3_000);
        first.ForEach(l => output.Add(l));
        await SettledAsync(output);
        Assert.That(output.Spilled, Is.GreaterThan(0));

        // The sink drains slowly while more come: each write waits for the next line added.
        var second = Lines(3_000, first: 3_000);
        sink.Open();
        foreach (var line in second)
        {
            output.Add(line);
        }

        await Waiting.UntilAsync(() => output.Spilled == 0 && output.WaitingToSpill == 0 && output.HeldInMemory == 0, Timeout, "the output drained");
        Assert.That(File.Exists(SpillPath), Is.False, "removed once drained");

        // A sink that keeps up: the next lines stay in memory, no file.
        var third = Lines(10, first: 6_000);
        third.ForEach(l => output.Add(l));
        Assert.That(File.Exists(SpillPath), Is.False);
        await DrainedAsync(output, sink, first.Concat(second).Concat(third));
    }

    [Test]
    public async Task A_sink_that_stalls_and_resumes_again_and_again_gets_everything_once_in_order()
    {
        var sink = new GatedSink();
        var output = NewOutput(sink);
        var given = new List<byte[]>();
        for (var round = 0; round < 3; round++)
        {
            // Shut: past the bound, the spill takes the rest.
            var lines = Lines(2_000, first: given.Count);
            lines.ForEach(l => output.Add(l));
            given.AddRange(lines);
            await SettledAsync(output);
            Assert.That(output.Spilled, Is.GreaterThan(0), $"round {round}: spilled");

            // Open while more comes: the spill drains, the file goes, memory takes over.
            sink.Open();
            var more = Lines(500, first: given.Count);
            more.ForEach(l => output.Add(l));
            given.AddRange(more);
            await Waiting.UntilAsync(() => output.Spilled == 0 && output.WaitingToSpill == 0 && output.HeldInMemory == 0, Timeout, $"round {round}: drained");
            Assert.That(File.Exists(SpillPath), Is.False, $"round {round}: removed once drained");
            sink.Shut();
        }

        await DrainedAsync(output, sink, given);
    }

    [Test]
    public async Task A_giver_racing_a_sink_that_yields_loses_and_repeats_nothing()
    {
        // A small bound and a sink that yields its thread now and then: memory and spill take turns as the two race.
        var sink = new GatedSink(open: true, yieldEvery: 7);
        var output = NewOutput(sink, bound: 4 * 1024);
        var lines = Lines(20_000);
        var random = new Random(5);
        var giver = Task.Run(() =>
        {
            var i = 0;
            while (i < lines.Count)
            {
                // Bursts of a few lines joined, as the headless writer hands them over.
                var burst = Math.Min(lines.Count - i, random.Next(1, 20));
                output.Add(Joined(lines.Skip(i).Take(burst)));
                i += burst;
            }
        });
        await giver.WaitAsync(Timeout);
        await DrainedAsync(output, sink, lines);
        Assert.That(output.PeakHeldInMemory, Is.LessThanOrEqualTo(4 * 1024));
        Assert.That(File.Exists(SpillPath), Is.False);
    }

    [Test]
    public async Task The_sink_is_flushed_once_a_burst_not_once_a_line()
    {
        var sink = new GatedSink();
        var output = NewOutput(sink, bound: 1024 * 1024);
        var lines = Lines(100);
        lines.ForEach(l => output.Add(l));
        sink.Open();
        await Waiting.UntilAsync(() => sink.Flushes == 1, Timeout, "one flush");
        output.Complete();
        await output.Completion.WaitAsync(Timeout);
        Assert.That(sink.Writes, Is.EqualTo(100));
        Assert.That(sink.Flushes, Is.EqualTo(1), "the queue ran empty once");
    }

    [Test]
    public async Task The_spill_file_is_readable_by_its_owner_only()
    {
        var sink = new GatedSink();
        var output = NewOutput(sink);
        Lines(2_000).ForEach(l => output.Add(l));
        await SettledAsync(output);
        Assert.That(File.GetUnixFileMode(SpillPath), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(File.GetUnixFileMode(Path.GetDirectoryName(SpillPath)!),
            Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
    }

    [Test]
    public async Task Completing_writes_what_waits_then_removes_the_spill_file()
    {
        var sink = new GatedSink();
        var output = NewOutput(sink);
        var lines = Lines(2_000);
        lines.ForEach(l => output.Add(l));
        output.Complete();
        await SettledAsync(output);
        Assert.That(output.Completion.IsCompleted, Is.False, "the sink has not taken it yet");
        Assert.That(File.Exists(SpillPath), Is.True);

        sink.Open();
        await output.Completion.WaitAsync(Timeout);
        Assert.That(File.Exists(SpillPath), Is.False);
        Assert.That(sink.Bytes, Is.EqualTo(Joined(lines)));
    }

    [Test]
    public void What_a_crashed_run_left_is_removed_and_nothing_else()
    {
        var directory = Path.GetDirectoryName(SpillPath)!;
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "stdout-4242.jsonl"), "{}\n");
        File.WriteAllText(Path.Combine(directory, "other"), "kept");
        SpillFile.RemoveStale(directory, "stdout-*.jsonl");
        Assert.That(Directory.GetFiles(directory).Select(Path.GetFileName), Is.EqualTo(new[] { "other" }));
        SpillFile.RemoveStale(Path.Combine(_home, "missing"), "stdout-*.jsonl");
    }

    [Test]
    public async Task A_spill_that_cannot_be_written_keeps_the_lines_in_memory_in_their_place()
    {
        // The spill's directory cannot be made: a file stands where it should be.
        Directory.CreateDirectory(_home);
        File.WriteAllText(Path.Combine(_home, "spill"), "not a directory");
        var sink = new GatedSink();
        var output = NewOutput(sink);
        var lines = Lines(2_000);
        lines.ForEach(l => output.Add(l));
        await SettledAsync(output);
        Assert.That(output.HeldInMemory, Is.GreaterThan(Bound), "past the bound rather than lost");

        await DrainedAsync(output, sink, lines);
    }

    [Test]
    public async Task A_sink_that_fails_ends_the_output_with_its_error_and_removes_the_spill()
    {
        var sink = new GatedSink { Fail = new IOException("disk gone") };
        var output = NewOutput(sink);
        Lines(2_000).ForEach(l => output.Add(l));
        sink.Open();
        var failure = Assert.ThrowsAsync<IOException>(() => output.Completion.WaitAsync(Timeout));
        Assert.That(failure!.Message, Is.EqualTo("disk gone"));
        // The spill thread may be appending as the sink fails: it removes the file once done.
        await Waiting.UntilAsync(() => !File.Exists(SpillPath), Timeout, "the spill file removed");
        Assert.That(output.HeldInMemory, Is.Zero);
        Assert.That(output.WaitingToSpill, Is.Zero);

        // What comes later is dropped, not held.
        Lines(2_000).ForEach(l => output.Add(l));
        Assert.That(output.HeldInMemory, Is.Zero);
        Assert.That(File.Exists(SpillPath), Is.False);
    }

    /// <summary>A sink twin: keeps what it is given; while shut, a write waits for it to open (the thread is then stuck
    /// in its first write); every <c>yieldEvery</c>-th write yields the thread.</summary>
    private sealed class GatedSink(bool open = false, int yieldEvery = 0) : Stream
    {
        private readonly ManualResetEventSlim _open = new(open);
        private readonly MemoryStream _taken = new();
        private int _writes;
        private int _flushes;
        private int _shutAt = -1;

        public Exception? Fail { get; init; }

        public int Writes => Volatile.Read(ref _writes);

        public int Flushes => Volatile.Read(ref _flushes);

        public byte[] Bytes
        {
            get
            {
                lock (_taken)
                {
                    return _taken.ToArray();
                }
            }
        }

        public void Open() => _open.Set();

        public void Shut() => _open.Reset();

        /// <summary>Shuts once <paramref name="writes"/> more writes are done: the one after waits.</summary>
        public void ShutAfter(int writes) => Volatile.Write(ref _shutAt, Writes + writes);

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _open.Wait();
            if (Fail is not null)
            {
                throw Fail;
            }

            var n = Interlocked.Increment(ref _writes);
            if (yieldEvery > 0 && n % yieldEvery == 0)
            {
                Thread.Yield();
            }

            lock (_taken)
            {
                _taken.Write(buffer);
            }

            if (n == Volatile.Read(ref _shutAt))
            {
                Shut();
            }
        }

        public override void Flush() => Interlocked.Increment(ref _flushes);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
