using System.Globalization;

namespace Mesh.Coordinator.History;

/// <summary>This peer's copy of its groups' history (sealed, as etcd holds it), and the etcd revision up to which
/// each copy is complete: a restart shows the copy and asks etcd only for what came after.</summary>
/// <remarks>
/// Files under <c>HOME/history</c>, mode 0600: <c>G.log</c> (records in the order taken from etcd) and <c>G.rev</c>
/// (written after the records it covers, atomically). A crash between the two leaves records beyond the revision;
/// they are read again from etcd and dropped as copies, never lost.
/// </remarks>
public sealed class LocalHistory(string directory)
{
    private readonly Lock _lock = new();

    private string LogPath(string group) => Path.Combine(directory, group + ".log");

    private string RevisionPath(string group) => Path.Combine(directory, group + ".rev");

    /// <summary>The copy of <paramref name="group"/> and the revision it is complete up to (0: no copy).</summary>
    public (IReadOnlyList<HistoryEntry> Entries, long Revision) Load(string group)
    {
        lock (_lock)
        {
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
            if (!System.IO.Directory.Exists(directory))
            {
                System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            using (var log = new FileStream(LogPath(group), new FileStreamOptions
            {
                Mode = FileMode.Append,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                foreach (var entry in entries)
                {
                    log.Write(HistoryRecordCodec.Encode(entry));
                }
            }

            var temp = RevisionPath(group) + ".tmp";
            File.WriteAllText(temp, revision.ToString(CultureInfo.InvariantCulture));
            File.Move(temp, RevisionPath(group), overwrite: true);
        }
    }
}
