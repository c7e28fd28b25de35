namespace Mesh.Coordinator.History;

/// <summary>History writes not yet acknowledged by etcd, kept on disk so that none is lost to an outage, an exit or
/// a crash: an append-only log in segments under one directory.</summary>
/// <remarks>
/// Each sent message is appended (and handed to the operating system) before it is published, and acknowledged in
/// order as the history writer's transactions land. A segment whose every record is acknowledged is deleted. On
/// start, <see cref="Recover"/> returns what is left, in order; writing it again is safe because history writes are
/// create-only. A record torn by a crash mid-write fails its checksum and ends recovery of that segment.
/// Buffers reach the disk itself at least every <see cref="SyncInterval"/>.
/// </remarks>
public sealed class Outbox : IDisposable
{
    public static readonly TimeSpan SyncInterval = TimeSpan.FromMilliseconds(500);
    private const long SegmentBytes = 4 * 1024 * 1024;

    private readonly string _directory;
    private readonly Lock _lock = new();
    private readonly Queue<(string Path, long Records)> _closed = new();
    private readonly Timer _sync;
    private FileStream? _current;
    private string? _currentPath;
    private long _currentRecords;
    private long _acknowledgedInHead;
    private long _pending;
    private bool _dirty;

    public Outbox(string directory)
    {
        _directory = directory;
        if (!System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        _sync = new Timer(_ => Sync(), null, SyncInterval, SyncInterval);
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

    /// <summary>Everything a previous run left unacknowledged, oldest first. Call once, before any append.</summary>
    public IReadOnlyList<HistoryEntry> Recover()
    {
        lock (_lock)
        {
            var recovered = new List<HistoryEntry>();
            foreach (var path in System.IO.Directory.GetFiles(_directory, "segment-*.log").Order(StringComparer.Ordinal))
            {
                var records = HistoryRecordCodec.ReadAll(File.ReadAllBytes(path), recovered);
                if (records == 0)
                {
                    File.Delete(path);
                    continue;
                }

                _closed.Enqueue((path, records));
                _pending += records;
            }

            return recovered;
        }
    }

    public void Append(HistoryEntry entry) => Append([entry]);

    /// <summary>Appends a burst of entries with one write to the operating system.</summary>
    public void Append(IReadOnlyList<HistoryEntry> entries)
    {
        var records = entries.Select(HistoryRecordCodec.Encode).ToList();
        lock (_lock)
        {
            foreach (var record in records)
            {
                if (_current is null || _current.Length >= SegmentBytes)
                {
                    Roll();
                }

                _current!.Write(record);
                _currentRecords++;
                _pending++;
            }

            // To the operating system now (a killed process loses nothing); to the disk within SyncInterval.
            _current!.Flush(flushToDisk: false);
            _dirty = true;
        }
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
                File.Delete(head.Path);
            }

            if (_closed.Count == 0 && _current is not null && _acknowledgedInHead >= _currentRecords)
            {
                // Everything written so far is in etcd: start the next record in a fresh segment.
                _acknowledgedInHead -= _currentRecords;
                _current.Dispose();
                File.Delete(_currentPath!);
                _current = null;
                _currentRecords = 0;
            }
        }
    }

    private void Roll()
    {
        if (_current is not null)
        {
            _current.Flush(flushToDisk: true);
            _current.Dispose();
            _closed.Enqueue((_currentPath!, _currentRecords));
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

    private void Sync()
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

    public void Dispose()
    {
        _sync.Dispose();
        lock (_lock)
        {
            _current?.Flush(flushToDisk: true);
            _current?.Dispose();
            _current = null;
        }
    }
}
