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
/// <para>One caller adds at a time, and <see cref="Add"/> never touches the disk: the session's loop calls it. Bytes bound
/// for the spill file go there from a second thread (<c>mesh-spill</c>), which runs only while anything is on its way to
/// the file or waits in it, and ends once the spill has drained: a reader that keeps up costs one thread, one wake-up a
/// burst.</para>
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

    /// <summary>Bytes added while anything was on its way to the spill file or waited in it, in order: the spill thread
    /// appends them to the file.</summary>
    private readonly Queue<byte[]> _toSpill = new();
    private long _toSpillBytes;

    /// <summary>The spill thread is appending a batch it took from <see cref="_toSpill"/> (the file must stay).</summary>
    private bool _spillWriting;
    private bool _spillThreadRunning;
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

    /// <summary>Bytes on their way to the spill file: added, not yet appended by the spill thread (which appends at the
    /// disk's pace, far faster than events come).</summary>
    public long WaitingToSpill
    {
        get
        {
            lock (_gate)
            {
                return _toSpillBytes;
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
    /// sink or the disk.</summary>
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

            if (!Spilling && _held + bytes.Length <= _memoryBound)
            {
                Enqueue(new Segment(bytes.ToArray()));
                _held += bytes.Length;
                _peakHeld = Math.Max(_peakHeld, _held);
                Monitor.PulseAll(_gate);
                return;
            }

            // Past the bound, or behind what is on its way to the file already: the spill thread takes it, in order.
            _toSpill.Enqueue(bytes.ToArray());
            _toSpillBytes += bytes.Length;
            if (!_spillThreadRunning)
            {
                _spillThreadRunning = true;
                new Thread(RunSpill) { Name = "mesh-spill", IsBackground = true }.Start();
            }

            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Something is on its way to the spill file or waits in it: what comes next goes after it. Under the gate.</summary>
    private bool Spilling => _spilled > 0 || _toSpill.Count > 0 || _spillWriting;

    /// <summary>No more bytes come: the thread writes what waits, removes the spill file and ends.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Complete();
        await Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>The spill thread: appends what waits for the file, in order, and queues each appended stretch for the
    /// sink (or, when the file cannot be written, the bytes themselves, in their place: kept in memory rather than lost).
    /// Ends once nothing is on its way to the file nor waits in it.</summary>
    private void RunSpill()
    {
        var batch = new List<byte[]>();
        var appended = new List<(byte[] Bytes, long Offset, Exception? Failure)>();
        try
        {
            while (true)
            {
                lock (_gate)
                {
                    while (_toSpill.Count == 0)
                    {
                        if (_spilled == 0 || _failed is not null)
                        {
                            if (_failed is not null)
                            {
                                // The sink failed while a batch was being appended: the file goes now.
                                RemoveSpill();
                            }

                            _spillThreadRunning = false;
                            Monitor.PulseAll(_gate);
                            return;
                        }

                        Monitor.Wait(_gate);
                    }

                    batch.Clear();
                    while (batch.Count < 256 && _toSpill.TryDequeue(out var bytes))
                    {
                        batch.Add(bytes);
                    }

                    _spillWriting = true;
                }

                // Outside the gate: the giver and the sink go on while the disk works.
                appended.Clear();
                foreach (var bytes in batch)
                {
                    var offset = _spill.Length;
                    try
                    {
                        _spill.Append(bytes);
                        appended.Add((bytes, offset, null));
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        appended.Add((bytes, offset, e));
                    }
                }

                lock (_gate)
                {
                    _spillWriting = false;
                    // A sink that failed meanwhile dropped everything, this batch included (its count too).
                    foreach (var (bytes, offset, failure) in _failed is null ? appended : [])
                    {
                        _toSpillBytes -= bytes.Length;
                        QueueAppended(bytes, offset, failure);
                    }

                    Monitor.PulseAll(_gate);
                }
            }
        }
        catch (Exception e)
        {
            // Not expected (the disk's errors are handled above): the output cannot keep its order any more.
            Fail(e);
        }
    }

    /// <summary>Queues what the spill thread appended (a stretch of the file) or could not (its bytes). Under the gate.</summary>
    private void QueueAppended(byte[] bytes, long offset, Exception? failure)
    {
        if (failure is not null)
        {
            if (!_spillFailing)
            {
                _spillFailing = true;
                SpillFailed(_log, _spill.Path, failure.Message);
            }

            Enqueue(new Segment(bytes));
            _held += bytes.Length;
            _peakHeld = Math.Max(_peakHeld, _held);
            return;
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
                Monitor.PulseAll(_gate);
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
                if (_completed && _toSpill.Count == 0 && !_spillWriting)
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

            if (_spilled == 0 && _toSpill.Count == 0 && !_spillWriting)
            {
                // Nothing waits in the file nor is on its way: it goes, and the spill thread ends.
                RemoveSpill();
                SpillDrained(_log, _spilledThisTime);
                _spilledThisTime = 0;
                Monitor.PulseAll(_gate);
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
            _toSpill.Clear();
            (_held, _spilled, _toSpillBytes) = (0, 0, 0);
            if (!_spillWriting)
            {
                RemoveSpill();
            }

            Monitor.PulseAll(_gate);
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
