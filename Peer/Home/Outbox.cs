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
/// <para>Forcing them there (fsync, on the timer, when a segment is full, or by <see cref="Sync"/>) takes no lock that
/// <see cref="Append"/> takes: an append never waits behind a disk that is slow to sync. Syncs run one at a time.</para>
/// </remarks>
public sealed class Outbox : IOutboxAppender, IDisposable
{
    public static readonly TimeSpan SyncInterval = TimeSpan.FromMilliseconds(500);
    private const long SegmentBytes = 4 * 1024 * 1024;

    private readonly string _directory;
    private readonly Lock _lock = new();

    /// <summary>Held by one sync at a time, never with <see cref="_lock"/> around a sync: appends go on meanwhile.</summary>
    private readonly Lock _syncLock = new();
    private readonly Action<FileStream> _flushToDisk;
    private readonly Queue<(string Path, long Records, long Bytes)> _closed = new();

    /// <summary>Segments closed when full and not yet forced to the disk: the next sync does it, then closes them.</summary>
    private readonly List<FileStream> _unsynced = [];

    /// <summary>The bytes of the closed segments not yet deleted.</summary>
    private long _closedBytes;
    private readonly Timer _sync;
    private FileStream? _current;
    private string? _currentPath;
    private long _currentRecords;
    private long _currentBytes;
    private long _acknowledgedInHead;
    private long _pending;
    private bool _dirty;
    private readonly TimeSpan _syncInterval;
    /// <summary>Whether the sync timer is set: only while something waits to reach the disk, so that an idle peer's
    /// outbox wakes nothing.</summary>
    private bool _armed;

    /// <summary>The most bytes the outbox holds (its segments not yet deleted): beyond it, appends are refused with
    /// <see cref="OutboxFullException"/>, so an etcd that takes nothing for days cannot fill the disk.</summary>
    public const long DefaultMaxBytes = 256L * 1024 * 1024;

    public Outbox(string directory, long maxBytes = DefaultMaxBytes)
        : this(directory, maxBytes, static stream => stream.Flush(flushToDisk: true), SyncInterval)
    {
    }

    /// <param name="directory">Where the segments are.</param>
    /// <param name="maxBytes">See <see cref="MaxBytes"/>.</param>
    /// <param name="flushToDisk">Forces a segment's bytes to the disk (tests slow it down or make it fail).</param>
    /// <param name="syncInterval">How often the timer syncs (tests sync by hand: <see cref="Timeout.InfiniteTimeSpan"/>).</param>
    internal Outbox(string directory, long maxBytes, Action<FileStream> flushToDisk, TimeSpan syncInterval)
    {
        MaxBytes = maxBytes;
        _directory = directory;
        _flushToDisk = flushToDisk;
        if (!System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        _syncInterval = syncInterval;
        _sync = new Timer(_ => SyncOnTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
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
                return _closedBytes + _currentBytes;
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
        var burst = Concatenate(entries.Select(HistoryRecordCodec.Encode).ToList());
        lock (_lock)
        {
            if (_closedBytes + _currentBytes + burst.Length > MaxBytes)
            {
                throw new OutboxFullException(MaxBytes);
            }

            try
            {
                if (_current is null || _currentBytes >= SegmentBytes)
                {
                    Roll();
                }
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException(e.Message, e);
            }

            try
            {
                // Unbuffered: to the operating system now (a killed process loses nothing); to the disk within
                // SyncInterval.
                _current!.Write(burst);
            }
            catch (IOException)
            {
                Undo(_currentBytes);
                throw;
            }

            _currentBytes += burst.Length;
            _currentRecords += entries.Count;
            _pending += entries.Count;
            _dirty = true;
            ArmSync();
        }
    }

    /// <summary>On the caller's thread: <paramref name="done"/> has run when this returns.</summary>
    void IOutboxAppender.AppendOutbox(IReadOnlyList<HistoryEntry> entries, Action<Exception?> done)
    {
        try
        {
            Append(entries);
        }
        catch (IOException e)
        {
            done(e);
            return;
        }

        done(null);
    }

    private static byte[] Concatenate(List<byte[]> records)
    {
        if (records.Count == 1)
        {
            return records[0];
        }

        var burst = new byte[records.Sum(r => r.Length)];
        var at = 0;
        foreach (var record in records)
        {
            record.CopyTo(burst, at);
            at += record.Length;
        }

        return burst;
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
        _currentBytes = 0;
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
                _currentBytes = 0;
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
        var path = Path.Combine(_directory, $"segment-{DateTime.UtcNow.Ticks:D20}-{Guid.NewGuid():N}.log");
        var next = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            // Each burst is one write: a buffer would only copy it, and would make a sync from another thread unsafe.
            BufferSize = 0,
        });
        if (_current is not null)
        {
            // The full segment reaches the disk at the next sync, which closes it: not here, under the lock. (Even
            // when clean: a sync running now may have taken it, and must find it open.)
            _unsynced.Add(_current);
            ArmSync();
            _closed.Enqueue((_currentPath!, _currentRecords, _currentBytes));
            _closedBytes += _currentBytes;
        }

        _current = next;
        _currentPath = path;
        _currentRecords = 0;
        _currentBytes = 0;
        _dirty = false;
    }

    /// <summary>Raised (from a timer thread) when buffers could not be forced to the disk; they stay with the
    /// operating system, and the next sync tries again.</summary>
    public event Action<string>? SyncFailed;

    /// <summary>Sets the sync timer to fire once, <see cref="SyncInterval"/> from now, unless it is set already. Under
    /// <c>_lock</c>.</summary>
    private void ArmSync()
    {
        if (_armed || _syncInterval == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        _armed = true;
        try
        {
            _sync.Change(_syncInterval, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: the disposal syncs what is left.
        }
    }

    private void SyncOnTimer()
    {
        lock (_lock)
        {
            // What is appended from now on sets the timer again.
            _armed = false;
        }

        // On a timer thread: an exception here would end the process, so a failure is reported, never thrown.
        try
        {
            Sync();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            SyncFailed?.Invoke(e.Message);
        }
    }

    /// <summary>Forces everything appended so far to the disk (it is with the operating system already). Appends go on
    /// meanwhile; a failure is thrown after every segment was tried.</summary>
    /// <exception cref="IOException">A segment could not be synced (the next sync tries the current one again).</exception>
    public void Sync()
    {
        lock (_syncLock)
        {
            FileStream? current;
            List<FileStream> full;
            lock (_lock)
            {
                current = _dirty ? _current : null;
                _dirty = false;
                full = [.. _unsynced];
                _unsynced.Clear();
            }

            Exception? failed = null;
            foreach (var segment in full)
            {
                // A full segment gets one try: after a failed fsync the kernel may have dropped the dirty pages'
                // error, so trying again would prove nothing.
                failed ??= TryFlushToDisk(segment);
                segment.Dispose();
            }

            if (current is not null && TryFlushToDisk(current) is { } e)
            {
                failed ??= e;
                lock (_lock)
                {
                    _dirty |= ReferenceEquals(current, _current);
                    if (_dirty)
                    {
                        ArmSync();
                    }
                }
            }

            if (failed is not null)
            {
                throw failed as IOException ?? new IOException(failed.Message, failed);
            }
        }
    }

    private Exception? TryFlushToDisk(FileStream segment)
    {
        try
        {
            _flushToDisk(segment);
            return null;
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile by an acknowledgement (its records are in etcd, the file is gone) or by an append
            // undone: nothing left to sync.
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e;
        }
    }

    public void Dispose()
    {
        _sync.Dispose();
        try
        {
            Sync();
        }
        catch (IOException)
        {
            // Whatever the operating system took is in the file; a failed sync risks only what a power cut takes.
        }

        lock (_lock)
        {
            _current?.Dispose();
            _current = null;
            _unsynced.ForEach(segment => segment.Dispose());
            _unsynced.Clear();
        }
    }
}
