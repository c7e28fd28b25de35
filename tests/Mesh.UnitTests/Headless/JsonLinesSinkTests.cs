using System.Text;
using Mesh.Peer.Headless;
using Mesh.Peer.Session;

namespace Mesh.UnitTests.Headless;

[Category("Unit")]
public sealed class JsonLinesSinkTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private string _home = "";

    [SetUp]
    public void Start() => _home = Path.Combine(Path.GetTempPath(), $"mesh-sink-{Guid.NewGuid():N}");

    [TearDown]
    public void Stop()
    {
        if (Directory.Exists(_home))
        {
            Directory.Delete(_home, recursive: true);
        }
    }

    private static MessageEvent Message(int i) =>
        new("ops", $"p1:1:{i}", "amy", $"line {i}", DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000 + i), Own: false);

    [Test]
    public async Task A_batch_of_events_reaches_the_output_as_one_write_in_order()
    {
        var stdout = new CountingStream();
        var output = new SpillingOutput(stdout, new SpillFile(Path.Combine(_home, "spill", "stdout-1.jsonl")));
        var seen = new List<MeshEvent>();
        var sink = new JsonLinesSink(output, seen.Add);

        // Written lines only: a ready line is written, events the contract does not print are seen but not written.
        sink.Take(new ReadyEvent("ops", ["amy"]));
        for (var i = 0; i < 100; i++)
        {
            sink.Take(Message(i));
        }

        Assert.That(stdout.Writes, Is.Zero, "nothing leaves before the batch ends");
        sink.Flush();
        sink.Complete();
        await output.Completion.WaitAsync(Timeout);

        var lines = Encoding.UTF8.GetString(stdout.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(101));
        Assert.That(lines[0], Does.StartWith("{\"type\":\"ready\""));
        Assert.That(lines.Skip(1), Is.EqualTo(Enumerable.Range(0, 100).Select(i => EventJson.ToLine(Message(i)))));
        Assert.That(stdout.Writes, Is.EqualTo(1), "the batch is one piece: one write");
        Assert.That(seen, Has.Count.EqualTo(101));
    }

    [Test]
    public async Task A_batch_larger_than_a_piece_leaves_in_pieces_and_loses_nothing()
    {
        var stdout = new CountingStream();
        var output = new SpillingOutput(stdout, new SpillFile(Path.Combine(_home, "spill", "stdout-1.jsonl")));
        var sink = new JsonLinesSink(output, _ => { });
        var text = new string('x', 1000);
        for (var i = 0; i < 300; i++)
        {
            sink.Take(Message(i) with { Text = text + i });
        }

        sink.Complete();
        await output.Completion.WaitAsync(Timeout);
        var lines = Encoding.UTF8.GetString(stdout.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(300));
        Assert.That(lines[299], Does.Contain(text + "299"));
        Assert.That(stdout.Writes, Is.InRange(300 * 1000 / (JsonLinesSink.PieceBytes + 2000), 300 * 1000 / JsonLinesSink.PieceBytes + 2));
    }

    /// <summary>A stdout twin that keeps what it is given and counts writes.</summary>
    private sealed class CountingStream : Stream
    {
        private readonly MemoryStream _taken = new();
        private int _writes;

        public int Writes => Volatile.Read(ref _writes);

        public byte[] ToArray()
        {
            lock (_taken)
            {
                return _taken.ToArray();
            }
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Interlocked.Increment(ref _writes);
            lock (_taken)
            {
                _taken.Write(buffer);
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

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
