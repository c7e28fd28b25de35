using Mesh.Peer.Configuration;

namespace Mesh.Peer.Groups;

/// <summary>This home's copy of each group log it applied, <c>HOME/groups/G.log</c>: one stored record per line,
/// base64. It pins the genesis (the first line) and everything applied since, so a log in etcd that was rewritten,
/// rolled back or emptied is recognised, and the copy can put the missing entries back.</summary>
public sealed class GroupLogCopy(string home)
{
    /// <summary>A group log of more entries than this is refused (a real one has one entry per membership change).</summary>
    public const int MaxEntries = 100_000;

    private string PathOf(string group) => Path.Combine(home, "groups", group + ".log");

    public bool Exists(string group) => File.Exists(PathOf(group));

    /// <summary>Moves this home's copy of <paramref name="group"/>'s log into <paramref name="aside"/>.</summary>
    public void MoveAside(string group, string aside)
    {
        if (File.Exists(PathOf(group)))
        {
            Directory.CreateDirectory(aside, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.Move(PathOf(group), Path.Combine(aside, group + ".group.log"));
        }
    }

    /// <summary>The group's log as this home last applied it; null when it never joined it.</summary>
    /// <exception cref="MeshException">The copy is damaged: one line naming the file.</exception>
    public GroupLog? Load(string group)
    {
        var path = PathOf(group);
        string[] lines;
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MeshException($"cannot read {path}: {e.Message}");
        }

        GroupLog? log = null;
        for (var i = 0; i < lines.Length && i < MaxEntries; i++)
        {
            byte[] record;
            try
            {
                record = Convert.FromBase64String(lines[i]);
            }
            catch (FormatException)
            {
                throw Damaged(path, i);
            }

            if (log is null)
            {
                log = GroupLog.TryStart(group, record, out _) ?? throw Damaged(path, i);
            }
            else if (!log.TryApply(record, out _))
            {
                // Every line was checked before it was written: a bad one is damage on disk, not something to trust.
                throw Damaged(path, i);
            }
        }

        return log;
    }

    /// <summary>Writes the whole log (atomically: a temporary file, then a rename).</summary>
    public void Save(GroupLog log)
    {
        var directory = Path.Combine(home, "groups");
        var path = PathOf(log.Group);
        try
        {
            if (!Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            var temp = $"{path}.{Environment.ProcessId}.tmp";
            using (var writer = new StreamWriter(temp))
            {
                for (long i = 0; i <= log.Head; i++)
                {
                    writer.WriteLine(Convert.ToBase64String(log.RecordAt(i)));
                }
            }

            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MeshException($"cannot write {path}: {e.Message}");
        }
    }

    private static MeshException Damaged(string path, int line) =>
        new($"{path} is damaged at line {line + 1}: it is this home's copy of the group log; restore it, or move it away to trust etcd's log again");
}
