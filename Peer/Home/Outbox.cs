using Mesh.Coordinator.History;

namespace Mesh.Peer.Home;

/// <summary>History writes not yet acknowledged by etcd, kept on disk so that none is lost to an outage, an exit or
/// a crash: an append-only log in segments under one directory.</summary>
/// <remarks>
/// Each sent message is appended (and handed to the operating system) before it is published, and acknowledged in
/// order as the history writer's transactions land. A segment whose every record is acknowledged is deleted. On
/// start, <see cref="Recover"/> returns what is left, in order; writing it again is safe because history writes are
/// create-only. A record torn by a crash mid-write fails its checksum and is dropped; a damaged record in the middle
/// of a segment costs that record alone (reported, and its segment kept under <c>damaged/</c> for inspection).
/// A failed write (a full disk, a read-only home) is undone and reported to the caller: the messages are then not
/// sent, and the outbox stays consistent. Buffers reach the disk itself at least every <see cref="SyncInterval"/>.
/// </remarks>
public sealed class Outbox : IDisposable
{
    public static readonly TimeSpan SyncInterval = TimeSpan.FromMilliseconds(500);
    private const long SegmentBytes = 4 * 1024 * 1024;

    private readonly string _directory;
    private readonly Lock _lock = new();
    private readonly Queue<(string Path, long Records, long Bytes)> _closed = new();

    /// <summary>The bytes of the closed segments not yet deleted.</summary>
    private long _closedBytes;
    private readonly Timer _sync;
    private FileStream? _current;
    private string? _currentPath;
    private long _currentRecords;
    private long _acknowledgedInHead;
    private long _pending;
    private bool _dirty;

    /// <summary>The most bytes the outbox holds (its segments not yet deleted): beyond it, appends are refused with
    /// <see cref="OutboxFullException"/>, so an etcd that takes nothing for days cannot fill the disk.</summary>
    public const long DefaultMaxBytes = 256L * 1024 * 1024;

    public Outbox(string directory, long maxBytes = DefaultMaxBytes)
    {
        MaxBytes = maxBytes;
        _directory = directory;
        if (!System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        _sync = new Timer(_ => Sync(), null, SyncInterval, SyncInterval);
    }

    public long MaxBytes { get; }

    /// <summary>The bytes of the segments not yet deleted (what an acknowledged record frees only once its whole
    /// segment is acknowledged: at most one segment more than what is pending).</summary>
    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                return _closedBytes + (_current?.Length ?? 0);
            }
        }
    }

    /// <summary>Records appended or recovered and not yet acknowledged.</summary>
    public long Pending
    {
        get
        {
            lock (_lock)
            {
                return _pending;
            }
        }
    }

    /// <summary>Everything a previous run left unacknowledged, oldest first, and what could not be read. Call once,
    /// before any append.</summary>
    public OutboxRecovery Recover()
    {
        lock (_lock)
        {
            var recovered = new List<HistoryEntry>();
            long damaged = 0;
            foreach (var path in System.IO.Directory.GetFiles(_directory, "segment-*.log").Order(StringComparer.Ordinal))
            {
                var scan = HistoryRecordCodec.Read(File.ReadAllBytes(path), recovered);
                if (scan.Damaged > 0)
                {
                    damaged += scan.Damaged;
                    KeepDamaged(path);
                }

                if (scan.Records == 0)
                {
                    File.Delete(path);
                    continue;
                }

                var bytes = new FileInfo(path).Length;
                _closed.Enqueue((path, scan.Records, bytes));
                _closedBytes += bytes;
                _pending += scan.Records;
            }

            return new OutboxRecovery(recovered, damaged, Path.Combine(_directory, "damaged"));
        }
    }

    /// <summary>A copy of a damaged segment, for whoever wants to look at what was lost; the original is deleted as
    /// usual once its good records are in etcd.</summary>
    private void KeepDamaged(string path)
    {
        var damaged = Path.Combine(_directory, "damaged");
        System.IO.Directory.CreateDirectory(damaged, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.Copy(path, Path.Combine(damaged, Path.GetFileName(path)), overwrite: true);
    }

    public void Append(HistoryEntry entry) => Append([entry]);

    /// <summary>Appends a burst of entries with one write to the operating system: all of them, or (with an
    /// <see cref="IOException"/>) none.</summary>
    public void Append(IReadOnlyList<HistoryEntry> entries)
    {
        var records = entries.Select(HistoryRecordCodec.Encode).ToList();
        lock (_lock)
        {
            var adding = records.Sum(r => (long)r.Length);
            if (_closedBytes + (_current?.Length ?? 0) + adding > MaxBytes)
            {
                throw new OutboxFullException(MaxBytes);
            }

            try
            {
                if (_current is null || _current.Length >= SegmentBytes)
                {
                    Roll();
                }
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException(e.Message, e);
            }

            var before = _current!.Length;
            try
            {
                foreach (var record in records)
                {
                    _current.Write(record);
                }

                // To the operating system now (a killed process loses nothing); to the disk within SyncInterval.
                _current.Flush(flushToDisk: false);
            }
            catch (IOException)
            {
                Undo(before);
                throw;
            }

            _currentRecords += records.Count;
            _pending += records.Count;
            _dirty = true;
        }
    }

    /// <summary>Takes back a burst that did not fully reach the operating system: the segment is cut where the burst
    /// began and closed (its earlier records stay pending), so the next append starts a fresh segment.</summary>
    private void Undo(long length)
    {
        var path = _currentPath!;
        try
        {
            _current!.Dispose();
        }
        catch (IOException)
        {
            // Disposing flushes the buffer again, which fails the same way; what it held is cut off below.
        }

        _current = null;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
            file.SetLength(length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left as it is, the part of the burst that reached the file is a torn record: recovery drops it.
        }

        if (_currentRecords > 0)
        {
            _closed.Enqueue((path, _currentRecords, length));
            _closedBytes += length;
        }
        else
        {
            TryDelete(path);
        }

        _currentRecords = 0;
    }

    /// <summary>The oldest <paramref name="count"/> records are in etcd: forget them.</summary>
    public void Acknowledge(long count)
    {
        lock (_lock)
        {
            _pending = Math.Max(0, _pending - count);
            _acknowledgedInHead += count;
            while (_closed.TryPeek(out var head) && _acknowledgedInHead >= head.Records)
            {
                _acknowledgedInHead -= head.Records;
                _closed.Dequeue();
                _closedBytes -= head.Bytes;
                TryDelete(head.Path);
            }

            if (_closed.Count == 0 && _current is not null && _acknowledgedInHead >= _currentRecords)
            {
                // Everything written so far is in etcd: start the next record in a fresh segment.
                _acknowledgedInHead -= _currentRecords;
                _current.Dispose();
                TryDelete(_currentPath!);
                _current = null;
                _currentRecords = 0;
            }
        }
    }

    /// <summary>A segment that cannot be deleted (a home turned read-only) is written again at the next start, which
    /// is harmless: history writes are create-only.</summary>
    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private void Roll()
    {
        if (_current is not null)
        {
            _current.Flush(flushToDisk: true);
            var length = _current.Length;
            _current.Dispose();
            _current = null;
            _closed.Enqueue((_currentPath!, _currentRecords, length));
            _closedBytes += length;
            _currentRecords = 0;
        }

        _currentPath = Path.Combine(_directory, $"segment-{DateTime.UtcNow.Ticks:D20}-{Guid.NewGuid():N}.log");
        _current = new FileStream(_currentPath, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        _currentRecords = 0;
    }

    /// <summary>Raised (from a timer thread) when buffers could not be forced to the disk; they stay with the
    /// operating system, and the next sync tries again.</summary>
    public event Action<string>? SyncFailed;

    private void Sync()
    {
        // On a timer thread: an exception here would end the process, so a failure is reported, never thrown.
        try
        {
            lock (_lock)
            {
                if (_dirty && _current is not null)
                {
                    _current.Flush(flushToDisk: true);
                    _dirty = false;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            SyncFailed?.Invoke(e.Message);
        }
    }

    public void Dispose()
    {
        _sync.Dispose();
        lock (_lock)
        {
            try
            {
                _current?.Flush(flushToDisk: true);
                _current?.Dispose();
            }
            catch (IOException)
            {
                // Whatever the operating system took is in the file; a full disk loses only what it never took.
            }

            _current = null;
        }
    }
}
