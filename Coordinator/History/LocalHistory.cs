using System.Globalization;

namespace Mesh.Coordinator.History;

/// <summary>This peer's copy of its groups' history (sealed, as etcd holds it), and the etcd revision up to which
/// each copy is complete: a restart shows the copy and asks etcd only for what came after.</summary>
/// <remarks>
/// Files under <c>HOME/history</c>, mode 0600: <c>G.log</c> (records in the order taken from etcd) and <c>G.rev</c>
/// (written after the records it covers, atomically). A crash between the two leaves records beyond the revision;
/// they are read again from etcd and dropped as copies, never lost. The log stays open while the peer runs, and the
/// revision is written at most every <see cref="DefaultCheckpointInterval"/> (and by <see cref="Checkpoint"/>): a busy group
/// costs one write per batch of changes, not a file created and renamed for each.
/// </remarks>
public sealed class LocalHistory(string directory, TimeSpan? checkpointInterval = null) : IDisposable
{
    public static readonly TimeSpan DefaultCheckpointInterval = TimeSpan.FromSeconds(1);

    private readonly TimeSpan _checkpointInterval = checkpointInterval ?? DefaultCheckpointInterval;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, GroupLog> _open = new(StringComparer.Ordinal);

    private string LogPath(string group) => Path.Combine(directory, group + ".log");

    private string RevisionPath(string group) => Path.Combine(directory, group + ".rev");

    /// <summary>The copy of <paramref name="group"/> and the revision it is complete up to (0: no copy).</summary>
    public (IReadOnlyList<HistoryEntry> Entries, long Revision) Load(string group)
    {
        lock (_lock)
        {
            Close(group);
            if (!File.Exists(RevisionPath(group)) || !File.Exists(LogPath(group))
                || !long.TryParse(File.ReadAllText(RevisionPath(group)).Trim(), CultureInfo.InvariantCulture, out var revision))
            {
                return ([], 0);
            }

            var entries = new List<HistoryEntry>();
            var bytes = File.ReadAllBytes(LogPath(group));
            HistoryRecordCodec.ReadAll(bytes, entries, out var good);
            if (good < bytes.Length)
            {
                // A torn tail from a crash: cut it off so appends continue from a clean record boundary.
                using var log = new FileStream(LogPath(group), FileMode.Open, FileAccess.Write);
                log.SetLength(good);
            }

            return (entries.Where(e => e.Group == group).ToList(), revision);
        }
    }

    /// <summary>Adds entries taken from etcd; the copy is then complete up to <paramref name="revision"/>.</summary>
    public void Append(string group, IReadOnlyList<HistoryEntry> entries, long revision)
    {
        lock (_lock)
        {
            if (!_open.TryGetValue(group, out var log))
            {
                if (!System.IO.Directory.Exists(directory))
                {
                    System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }

                log = new GroupLog(new FileStream(LogPath(group), new FileStreamOptions
                {
                    Mode = FileMode.Append,
                    Access = FileAccess.Write,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                    BufferSize = 64 * 1024,
                }));
                _open[group] = log;
            }

            foreach (var entry in entries)
            {
                log.Stream.Write(HistoryRecordCodec.Encode(entry));
            }

            // The records reach the operating system before any revision that covers them is written.
            log.Stream.Flush();
            log.Revision = revision;
            if (log.Written == 0 || log.Since.Elapsed >= _checkpointInterval)
            {
                WriteRevision(group, log);
            }
        }
    }

    /// <summary>Writes the revision of every copy that has advanced since its last one.</summary>
    public void Checkpoint()
    {
        lock (_lock)
        {
            foreach (var (group, log) in _open)
            {
                WriteRevision(group, log);
            }
        }
    }

    private void WriteRevision(string group, GroupLog log)
    {
        if (log.Revision == log.Written)
        {
            return;
        }

        var temp = RevisionPath(group) + ".tmp";
        File.WriteAllText(temp, log.Revision.ToString(CultureInfo.InvariantCulture));
        File.Move(temp, RevisionPath(group), overwrite: true);
        log.Written = log.Revision;
        log.Since.Restart();
    }

    private void Close(string group)
    {
        if (_open.Remove(group, out var log))
        {
            WriteRevision(group, log);
            log.Stream.Dispose();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var group in _open.Keys.ToList())
            {
                Close(group);
            }
        }
    }

    /// <summary>An open copy: its stream, the revision it holds, and the last revision written down.</summary>
    private sealed class GroupLog(FileStream stream)
    {
        public FileStream Stream { get; } = stream;

        public long Revision { get; set; }

        public long Written { get; set; }

        public System.Diagnostics.Stopwatch Since { get; } = System.Diagnostics.Stopwatch.StartNew();
    }
}
