using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Peer.Headless;

/// <summary>Writes what it is given to a sink (stdout) in the order given, from a thread of its own, and never makes
/// the giver wait for the sink: up to a bound in memory, beyond it in a <see cref="SpillFile"/>, read back in turn.</summary>
/// <remarks>
/// A reader that stops reading fills the pipe, and a write to it blocks until the reader reads again, or for good. The
/// thread (<c>mesh-stdout</c>) takes that wait; <see cref="Add"/> returns at once, so that whoever drains the session's
/// events keeps draining them, and the memory held stays under the bound whatever the reader does.
/// <para>What is added goes in one queue of segments, in order: bytes in memory, or a stretch of the spill file. Once
/// anything waits in the spill, what comes after goes there too, until the thread has written all of it: the
/// file is then removed, and memory takes the next bytes again. A spill that cannot be written (a full disk) keeps its
/// bytes in memory rather than lose them, past the bound, still in their place in the queue.</para>
/// <para>The thread writes each segment as it comes (a spilled stretch in pieces of <see cref="PieceBytes"/>) and
/// flushes the sink once when the queue runs empty: one flush per burst. A sink that fails (an error other than a
/// closed pipe, which stdout ignores) ends the output: what waits is dropped, what comes later too, and
/// <see cref="Completion"/> carries the error.</para>
/// <para>One caller adds at a time. <see cref="Add"/> may write to the disk: never call it on the session's loop.</para>
/// </remarks>
public sealed partial class SpillingOutput : IAsyncDisposable
{
    /// <summary>The bytes held in memory before the spill file takes the rest: about 2,000 message lines, enough for a
    /// reader's hiccup. Not more: held lines outlive several collections, which makes the heap grow by several times
    /// their size (a peer holding 8 MiB measured 23–46 MB larger than one whose stdout was read; at 1 MiB, 7–25 MB).</summary>
    public const long DefaultMemoryBound = 1024 * 1024;

    /// <summary>How much of the spill file one write to the sink carries.</summary>
    public const int PieceBytes = 64 * 1024;

    private readonly Stream _sink;
    private readonly SpillFile _spill;
    private readonly long _memoryBound;
    private readonly ILogger _log;

    /// <summary>Guards the queue and the counts, and is what the idle thread waits on (a <see cref="Lock"/> has no wait).</summary>
    private readonly object _gate = new();
    private readonly Queue<Segment> _queue = new();
    private readonly Thread _thread;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The segment added last, while it is still queued: a spilled one grows in place.</summary>
    private Segment? _tail;
    private long _held;
    private long _peakHeld;
    private long _spilled;
    private long _spilledThisTime;
    private bool _spillFailing;
    private bool _completed;
    private Exception? _failed;

    /// <param name="sink">Where the bytes go; written and flushed on this output's thread only.</param>
    /// <param name="spill">Where bytes beyond <paramref name="memoryBound"/> wait; owned by this output from now on.</param>
    /// <param name="memoryBound">The bytes held in memory while the sink is behind.</param>
    /// <param name="log">Tells when the sink falls behind and catches up, and what fails.</param>
    public SpillingOutput(Stream sink, SpillFile spill, long memoryBound = DefaultMemoryBound, ILogger? log = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(memoryBound);
        _sink = sink;
        _spill = spill;
        _memoryBound = memoryBound;
        _log = log ?? NullLogger.Instance;
        _thread = new Thread(Run) { Name = "mesh-stdout", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Done when everything added before <see cref="Complete"/> is written and the spill file removed;
    /// faulted with the sink's error when it failed.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Bytes held in memory now: queued, or being written.</summary>
    public long HeldInMemory
    {
        get
        {
            lock (_gate)
            {
                return _held;
            }
        }
    }

    /// <summary>The most bytes held in memory at once so far.</summary>
    public long PeakHeldInMemory
    {
        get
        {
            lock (_gate)
            {
                return _peakHeld;
            }
        }
    }

    /// <summary>Bytes waiting in the spill file now.</summary>
    public long Spilled
    {
        get
        {
            lock (_gate)
            {
                return _spilled;
            }
        }
    }

    /// <summary>Queues a copy of <paramref name="bytes"/> after everything added before; returns without waiting for the
    /// sink (it may append to the spill file).</summary>
    public void Add(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            if (_failed is not null)
            {
                return;
            }

            if ((_spilled == 0 && _held + bytes.Length <= _memoryBound) || !TrySpill(bytes))
            {
                Enqueue(new Segment(bytes.ToArray()));
                _held += bytes.Length;
                _peakHeld = Math.Max(_peakHeld, _held);
            }

            Monitor.Pulse(_gate);
        }
    }

    /// <summary>No more bytes come: the thread writes what waits, removes the spill file and ends.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.Pulse(_gate);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Complete();
        await Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Appends to the spill file; false when it cannot be written (said once until it can again).</summary>
    private bool TrySpill(ReadOnlySpan<byte> bytes)
    {
        var offset = _spill.Length;
        try
        {
            _spill.Append(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!_spillFailing)
            {
                _spillFailing = true;
                SpillFailed(_log, _spill.Path, e.Message);
            }

            return false;
        }

        _spillFailing = false;
        if (_spilledThisTime == 0)
        {
            SpillStarted(_log, _memoryBound, _spill.Path);
        }

        _spilled += bytes.Length;
        _spilledThisTime += bytes.Length;
        // Appends are contiguous: a spilled segment at the tail grows rather than queue another.
        if (_tail is { Bytes: null } stretch && stretch.Offset + stretch.Length == offset)
        {
            stretch.Length += bytes.Length;
        }
        else
        {
            Enqueue(new Segment(offset, bytes.Length));
        }

        return true;
    }

    private void Enqueue(Segment segment)
    {
        _queue.Enqueue(segment);
        _tail = segment;
    }

    /// <summary>The thread: writes the queue's head, flushes once the queue runs empty, sleeps while nothing waits.</summary>
    private void Run()
    {
        var piece = new byte[PieceBytes];
        var unflushed = false;
        try
        {
            while (true)
            {
                if (!TryTakeHead(out var memory, out var offset, out var length))
                {
                    if (unflushed)
                    {
                        _sink.Flush();
                        unflushed = false;
                        continue;
                    }

                    if (!WaitForWork())
                    {
                        break;
                    }

                    continue;
                }

                if (memory is not null)
                {
                    _sink.Write(memory);
                    Written(memory.Length, spilled: false);
                }
                else
                {
                    // Read outside the lock: the giver may append beyond this stretch meanwhile, never inside it.
                    var read = _spill.Read(offset, piece.AsSpan(0, (int)Math.Min(length, PieceBytes)));
                    _sink.Write(piece, 0, read);
                    Written(read, spilled: true);
                }

                unflushed = true;
            }

            lock (_gate)
            {
                RemoveSpill();
            }

            _completion.TrySetResult();
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    /// <summary>The head of the queue: bytes in memory (dequeued; still held until written), or where its spilled
    /// stretch starts and how long it is now (left queued: it may grow).</summary>
    private bool TryTakeHead(out byte[]? memory, out long offset, out long length)
    {
        lock (_gate)
        {
            memory = null;
            (offset, length) = (0, 0);
            if (!_queue.TryPeek(out var head))
            {
                return false;
            }

            if (head.Bytes is { } bytes)
            {
                memory = bytes;
                Dequeue();
                return true;
            }

            (offset, length) = (head.Offset, head.Length);
            return true;
        }
    }

    /// <summary>Sleeps until something is queued; false once the output is complete and nothing waits.</summary>
    private bool WaitForWork()
    {
        lock (_gate)
        {
            while (_queue.Count == 0)
            {
                if (_completed)
                {
                    return false;
                }

                Monitor.Wait(_gate);
            }

            return true;
        }
    }

    /// <summary>Counts what reached the sink: memory released, or the spilled stretch shortened (and, once nothing waits
    /// in the spill file, the file removed).</summary>
    private void Written(int count, bool spilled)
    {
        lock (_gate)
        {
            if (!spilled)
            {
                _held -= count;
                return;
            }

            var head = _queue.Peek();
            head.Offset += count;
            head.Length -= count;
            _spilled -= count;
            if (head.Length == 0)
            {
                Dequeue();
            }

            if (_spilled == 0)
            {
                RemoveSpill();
                SpillDrained(_log, _spilledThisTime);
                _spilledThisTime = 0;
            }
        }
    }

    private void Dequeue()
    {
        if (ReferenceEquals(_queue.Dequeue(), _tail))
        {
            _tail = null;
        }
    }

    /// <summary>The sink failed: drop what waits and what comes, remove the spill file, end with the error.</summary>
    private void Fail(Exception e)
    {
        lock (_gate)
        {
            _failed = e;
            _queue.Clear();
            _tail = null;
            (_held, _spilled) = (0, 0);
            RemoveSpill();
        }

        SinkFailed(_log, e.GetType().Name, e.Message);
        _completion.TrySetException(e);
    }

    /// <summary>Removes the spill file (nothing in it waits any more); a file that will not go is said and left.</summary>
    private void RemoveSpill()
    {
        try
        {
            _spill.Delete();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            SpillNotRemoved(_log, _spill.Path, e.Message);
        }
    }

    /// <summary>A stretch of output: bytes in memory, or a stretch of the spill file.</summary>
    private sealed class Segment
    {
        public Segment(byte[] bytes) => Bytes = bytes;

        public Segment(long offset, long length) => (Offset, Length) = (offset, length);

        public byte[]? Bytes { get; }

        public long Offset { get; set; }

        public long Length { get; set; }
    }

    [LoggerMessage(EventId = 601, Level = LogLevel.Information, Message = "stdout is not read as fast as events come: beyond {Bound} bytes in memory they wait in {Path}")]
    private static partial void SpillStarted(ILogger log, long bound, string path);

    [LoggerMessage(EventId = 602, Level = LogLevel.Information, Message = "stdout caught up: the {Bytes} bytes that waited on disk are written, the file removed")]
    private static partial void SpillDrained(ILogger log, long bytes);

    [LoggerMessage(EventId = 603, Level = LogLevel.Warning, Message = "cannot spill stdout to {Path} ({Reason}): events wait in memory instead")]
    private static partial void SpillFailed(ILogger log, string path, string reason);

    [LoggerMessage(EventId = 605, Level = LogLevel.Warning, Message = "cannot remove {Path} ({Reason})")]
    private static partial void SpillNotRemoved(ILogger log, string path, string reason);

    [LoggerMessage(EventId = 604, Level = LogLevel.Error, Message = "stdout cannot be written ({Kind}: {Reason}): events are no longer printed")]
    private static partial void SinkFailed(ILogger log, string kind, string reason);
}
