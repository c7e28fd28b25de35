using System.Globalization;
using Mesh.Coordinator.History;

namespace Mesh.Peer.Home;

/// <summary>This peer's copy of its groups' history (sealed, as etcd holds it), and the etcd cluster and revision up
/// to which each copy is complete: a restart shows the copy and asks etcd only for what came after.</summary>
/// <remarks>
/// Files under <c>HOME/history</c>, mode 0600: <c>G.log</c> (checksummed records in the order taken from etcd) and
/// <c>G.rev</c> (<c>REVISION CLUSTER WITNESS</c>, written after the records it covers, atomically; the witness is the
/// name and etcd revision of the last entry taken, <c>NAME@REVISION</c>, which etcd must still hold, at that revision,
/// for the copy to be continued). A crash between the two
/// leaves records beyond the revision; they are read again from etcd and dropped as copies, never lost.
/// <para>A damaged record costs that record alone: the file is rewritten with the good ones and the copy reports
/// revision 0, so that the caller reads the whole history from etcd again and takes what the copy lost. A write that
/// fails (a full disk, a read-only home) stops that copy where it was complete: later changes are not written and
/// its revision does not move, so the next start fetches them from etcd.</para>
/// The log stays open while the peer runs, and the revision is written at most every
/// <see cref="DefaultCheckpointInterval"/> (and by <see cref="Checkpoint"/>): a busy group costs one write per batch of
/// changes, not a file created and renamed for each.
/// </remarks>
public sealed class LocalHistory(string directory, TimeSpan? checkpointInterval = null) : IDisposable
{
    public static readonly TimeSpan DefaultCheckpointInterval = TimeSpan.FromSeconds(1);

    private readonly TimeSpan _checkpointInterval = checkpointInterval ?? DefaultCheckpointInterval;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, GroupLog> _open = new(StringComparer.Ordinal);
    private readonly HashSet<string> _stopped = new(StringComparer.Ordinal);

    /// <summary>The etcd cluster the copies come from (its id, as etcd reports it), written beside each revision.</summary>
    public string Cluster { get; set; } = "";

    /// <summary>Raised once per group whose copy could not be written; the copy stays complete up to its last
    /// revision, and the rest is fetched from etcd at the next start.</summary>
    public event Action<string, string>? WriteFailed;

    private string LogPath(string group) => Path.Combine(directory, group + ".log");

    private string RevisionPath(string group) => Path.Combine(directory, group + ".rev");

    /// <summary>The copy of <paramref name="group"/>, in the order of its history keys, and the cluster and revision
    /// it is complete up to (revision 0: no usable copy, read everything).</summary>
    public LocalCopy Load(string group)
    {
        lock (_lock)
        {
            Close(group);
            _stopped.Remove(group);
            if (!File.Exists(RevisionPath(group)) || !File.Exists(LogPath(group))
                || !TryParseRevision(File.ReadAllText(RevisionPath(group)), out var revision, out var cluster, out var witness))
            {
                return new LocalCopy([], 0, "", 0);
            }

            var entries = new List<HistoryEntry>();
            var bytes = File.ReadAllBytes(LogPath(group));
            var scan = HistoryRecordCodec.Read(bytes, entries);
            entries.RemoveAll(e => e.Group != group);
            if (scan.Damaged > 0)
            {
                revision = 0;
            }

            try
            {
                if (scan.Damaged > 0 || HistoryRecordCodec.IsLegacy(bytes))
                {
                    // Keep what is good, in the current format, and let etcd fill in the rest.
                    Rewrite(group, entries);
                }
                else if (scan.TornTail)
                {
                    // A torn tail from a crash lies beyond the revision written: cut it off so appends continue from
                    // a clean record boundary.
                    using var log = new FileStream(LogPath(group), FileMode.Open, FileAccess.Write);
                    log.SetLength(scan.GoodBytes);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Appending after bytes that could not be cleaned would damage the copy: it stays as it is.
                Stop(group, e);
            }

            // Keys sort by their order stamp: this is the order etcd lists them in, whatever order they were taken.
            // A copy taken twice (a re-read after a gap, a crash before the revision was written) holds it once.
            entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            var unique = new List<HistoryEntry>(entries.Count);
            foreach (var entry in entries)
            {
                if (unique.Count == 0 || unique[^1].Name != entry.Name)
                {
                    unique.Add(entry);
                }
            }

            return new LocalCopy(unique, revision, cluster, scan.Damaged) { Witness = witness };
        }
    }

    private static bool TryParseRevision(string text, out long revision, out string cluster, out string witness)
    {
        var parts = text.Trim().Split(' ', 3);
        cluster = parts.Length > 1 ? parts[1] : "";
        witness = parts.Length > 2 ? parts[2] : "";
        return long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out revision);
    }

    private void Rewrite(string group, IReadOnlyList<HistoryEntry> entries)
    {
        var temp = LogPath(group) + ".tmp";
        using (var file = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            BufferSize = 64 * 1024,
        }))
        {
            foreach (var entry in entries)
            {
                file.Write(HistoryRecordCodec.Encode(entry));
            }

            file.Flush(flushToDisk: true);
        }

        File.Move(temp, LogPath(group), overwrite: true);
    }

    /// <summary>Moves the copy of <paramref name="group"/> into <paramref name="aside"/> (a group created afresh).</summary>
    public void MoveAside(string group, string aside)
    {
        lock (_lock)
        {
            Close(group);
            foreach (var (path, name) in new[] { (LogPath(group), group + ".history.log"), (RevisionPath(group), group + ".history.rev") })
            {
                if (File.Exists(path))
                {
                    System.IO.Directory.CreateDirectory(aside, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                    File.Move(path, Path.Combine(aside, name));
                }
            }
        }
    }

    /// <summary>Forgets the copy of <paramref name="group"/> and starts it again with <paramref name="entries"/> at
    /// <paramref name="revision"/>: after etcd's history was found to have gone back (a restore, another cluster).</summary>
    public void Replace(string group, IReadOnlyList<HistoryEntry> entries, long revision)
    {
        lock (_lock)
        {
            Close(group);
            if (_stopped.Contains(group))
            {
                return;
            }

            try
            {
                EnsureDirectory();
                Rewrite(group, entries);
                var log = Open(group);
                log.Revision = revision;
                log.Witness = entries.LastOrDefault(e => e.Revision > 0 && !e.Name.Contains(' ')) is { } last
                    ? string.Create(CultureInfo.InvariantCulture, $"{last.Name}@{last.Revision}")
                    : "";
                WriteRevision(group, log);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Stop(group, e);
            }
        }
    }

    /// <summary>Drops from the copy of <paramref name="group"/> every entry whose name sorts before
    /// <paramref name="bound"/> (beyond the group's retention); returns how many. The copy stays complete up to its
    /// revision (when the entry that witnesses it goes too, the revision is kept without a witness).</summary>
    public long TrimBefore(string group, string bound)
    {
        lock (_lock)
        {
            if (_stopped.Contains(group) || !File.Exists(LogPath(group)))
            {
                return 0;
            }

            Close(group);
            var entries = new List<HistoryEntry>();
            var bytes = File.ReadAllBytes(LogPath(group));
            HistoryRecordCodec.Read(bytes, entries);
            var kept = entries.Where(e => e.Group == group && string.CompareOrdinal(e.Name, bound) >= 0).ToList();
            var dropped = entries.Count - kept.Count;
            if (dropped == 0)
            {
                return 0;
            }

            // When the witness went with what retention dropped (etcd deletes it too), the copy is still complete up to its
            // revision, without one, and the next entry taken from etcd names a new witness.
            return RewriteKeepingRevision(group, kept) ? dropped : 0;
        }
    }

    /// <summary>Rewrites the copy of <paramref name="group"/> with <paramref name="entries"/>, complete up to the same
    /// revision; a witness no longer among them, or now a tombstone (etcd writes it again, at a later revision), is
    /// dropped (the next entry taken from etcd names a new one). False
    /// (and the copy stopped) when the disk refused.</summary>
    private bool RewriteKeepingRevision(string group, List<HistoryEntry> entries)
    {
        try
        {
            Rewrite(group, entries);
            if (File.Exists(RevisionPath(group)) && TryParseRevision(File.ReadAllText(RevisionPath(group)), out _, out _, out var witness)
                && witness.Split('@')[0] is { Length: > 0 } name && !entries.Any(e => e.Name == name && !Protocol.Tombstone.LooksLike(e)))
            {
                var log = Open(group);
                log.Witness = "";
                log.Written = -1;
                WriteRevision(group, log);
            }

            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Stop(group, e);
            return false;
        }
    }

    /// <summary>Takes deleted messages' text out of the copy of <paramref name="group"/> for good: each target's record
    /// is replaced by its tombstone (the delete, found in the copy by its id), a burst's other messages kept as records
    /// of their own (<see cref="Protocol.Tombstone.Erase"/>); the file is rewritten once. Returns how many targets were
    /// erased (0: none held, or held as tombstones already).</summary>
    public int Erase(string group, IReadOnlyList<(string Target, string Delete)> deletes)
    {
        lock (_lock)
        {
            if (_stopped.Contains(group) || !File.Exists(LogPath(group)))
            {
                return 0;
            }

            Close(group);
            var entries = new List<HistoryEntry>();
            HistoryRecordCodec.Read(File.ReadAllBytes(LogPath(group)), entries);
            entries.RemoveAll(e => e.Group != group);
            var erased = deletes.Count(d => Protocol.Tombstone.Erase(entries, d.Target, d.Delete));
            if (erased == 0)
            {
                return 0;
            }

            // A witness that was a burst taken apart goes as in TrimBefore.
            return RewriteKeepingRevision(group, entries) ? erased : 0;
        }
    }

    /// <summary>Adds entries taken from etcd; the copy is then complete up to <paramref name="revision"/>.</summary>
    public void Append(string group, IReadOnlyList<HistoryEntry> entries, long revision)
    {
        lock (_lock)
        {
            if (_stopped.Contains(group))
            {
                return;
            }

            GroupLog? log = null;
            try
            {
                log = Open(group);
                var before = log.Stream.Length;
                try
                {
                    foreach (var entry in entries)
                    {
                        log.Stream.Write(HistoryRecordCodec.Encode(entry));
                    }

                    // The records reach the operating system before any revision that covers them is written.
                    log.Stream.Flush();
                    if (entries.LastOrDefault(e => e.Revision > 0 && !e.Name.Contains(' ')) is { } last)
                    {
                        log.Witness = string.Create(CultureInfo.InvariantCulture, $"{last.Name}@{last.Revision}");
                    }
                }
                catch (IOException)
                {
                    Cut(group, log, before);
                    throw;
                }

                log.Revision = revision;
                if (log.Written == 0 || log.Since.Elapsed >= _checkpointInterval)
                {
                    WriteRevision(group, log);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Stop(group, e);
            }
        }
    }

    private GroupLog Open(string group)
    {
        if (_open.TryGetValue(group, out var log))
        {
            return log;
        }

        EnsureDirectory();
        log = new GroupLog(new FileStream(LogPath(group), new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            BufferSize = 64 * 1024,
        }));
        if (File.Exists(RevisionPath(group)) && TryParseRevision(File.ReadAllText(RevisionPath(group)), out var revision, out _, out var witness))
        {
            // Reopened (after a load or a trim): the witness written down stays until a newer entry from etcd replaces it.
            log.Revision = log.Written = revision;
            log.Witness = witness;
        }

        _open[group] = log;
        return log;
    }

    private void EnsureDirectory()
    {
        if (!System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Takes back records that did not all reach the file, so that none is left half written.</summary>
    private void Cut(string group, GroupLog log, long length)
    {
        _open.Remove(group);
        try
        {
            log.Stream.Dispose();
        }
        catch (IOException)
        {
            // Disposing flushes the same buffer again; what it held is cut off below.
        }

        try
        {
            using var file = new FileStream(LogPath(group), FileMode.Open, FileAccess.Write);
            file.SetLength(length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left as it is, the partial record is damage the next load skips (and then reads etcd again).
        }
    }

    private void Stop(string group, Exception e)
    {
        if (_open.Remove(group, out var log))
        {
            try
            {
                log.Stream.Dispose();
            }
            catch (IOException)
            {
            }
        }

        if (_stopped.Add(group))
        {
            WriteFailed?.Invoke(group, e.Message);
        }
    }

    /// <summary>Writes the revision of every copy that has advanced since its last one.</summary>
    public void Checkpoint()
    {
        lock (_lock)
        {
            foreach (var (group, log) in _open.ToList())
            {
                try
                {
                    WriteRevision(group, log);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Stop(group, e);
                }
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
        var line = Cluster.Length == 0 && log.Witness.Length == 0
            ? log.Revision.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{log.Revision} {(Cluster.Length > 0 ? Cluster : "-")} {log.Witness}").TrimEnd();
        // Private like the copy itself: it names the last entry taken and the cluster followed.
        using (var file = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            file.Write(System.Text.Encoding.UTF8.GetBytes(line));
        }

        File.Move(temp, RevisionPath(group), overwrite: true);
        log.Written = log.Revision;
        log.Since.Restart();
    }

    private void Close(string group)
    {
        if (_open.Remove(group, out var log))
        {
            try
            {
                WriteRevision(group, log);
                log.Stream.Dispose();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The revision stays where it was written last: the next start reads the rest from etcd again.
            }
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

        /// <summary>The last entry taken from etcd, as NAME@REVISION.</summary>
        public string Witness { get; set; } = "";

        public System.Diagnostics.Stopwatch Since { get; } = System.Diagnostics.Stopwatch.StartNew();
    }
}
