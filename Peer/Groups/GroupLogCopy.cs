using Mesh.Peer.Configuration;

namespace Mesh.Peer.Groups;

/// <summary>This home's copy of each group log it applied, <c>HOME/groups/G.log</c>: one stored record per line,
/// base64. It pins the genesis (the first line) and everything applied since, so a log in etcd that was rewritten,
/// rolled back or emptied is recognised, and the copy can put the missing entries back.</summary>
/// <remarks>
/// Without a writer, <see cref="Save"/> writes before it returns. Once <see cref="WriteThrough"/> gave it one (the
/// session's home writer), saves, moves and loads (<see cref="LoadAsync"/>) go to the writer's thread, in order; the
/// synchronous <see cref="Load"/> and <see cref="Write"/> are what that thread calls.
/// </remarks>
public sealed class GroupLogCopy(string home)
{
    /// <summary>A group log of more entries than this is refused (a real one has one entry per membership change).</summary>
    public const int MaxEntries = 100_000;

    private ILogCopyWriter? _writer;

    /// <summary>From now on saves go to <paramref name="writer"/> instead of happening on the caller's thread.</summary>
    public void WriteThrough(ILogCopyWriter writer) => _writer = writer;

    private string PathOf(string group) => Path.Combine(home, "groups", group + ".log");

    public bool Exists(string group) => File.Exists(PathOf(group));

    /// <summary>Moves this home's copy of <paramref name="group"/>'s log into <paramref name="aside"/>, on the
    /// writer's thread when there is one, after what was handed to it before.</summary>
    public Task MoveAsideAsync(string group, string aside)
    {
        if (_writer is not null)
        {
            return _writer.MoveLogCopyAsideAsync(group, aside);
        }

        MoveAside(group, aside);
        return Task.CompletedTask;
    }

    /// <summary>Moves this home's copy of <paramref name="group"/>'s log into <paramref name="aside"/>, now (what a
    /// writer calls; with one, callers use <see cref="MoveAsideAsync"/>).</summary>
    public void MoveAside(string group, string aside)
    {
        if (File.Exists(PathOf(group)))
        {
            Directory.CreateDirectory(aside, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.Move(PathOf(group), Path.Combine(aside, group + ".group.log"));
        }
    }

    /// <summary>The group's log as this home last applied it (null when it never joined it), read on the writer's
    /// thread when there is one, after what was handed to it before.</summary>
    /// <exception cref="MeshException">The copy is damaged: one line naming the file.</exception>
    public async Task<GroupLog?> LoadAsync(string group) =>
        _writer is null ? Load(group) : await _writer.LoadLogCopyAsync(group);

    /// <summary>The group's log as this home last applied it; null when it never joined it. Read now, on the caller's
    /// thread.</summary>
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

    /// <summary>Writes the whole log (atomically: a temporary file, then a rename); through the writer when there is
    /// one, which reports a failure.</summary>
    /// <exception cref="MeshException">Without a writer: the file cannot be written.</exception>
    public void Save(GroupLog log)
    {
        if (_writer is not null)
        {
            _writer.SaveLogCopy(log);
            return;
        }

        Write(log.Group, RecordsOf(log));
    }

    /// <summary>The records of <paramref name="log"/> as they are now, for a write that happens later.</summary>
    public static IReadOnlyList<byte[]> RecordsOf(GroupLog log)
    {
        var records = new byte[log.Head + 1][];
        for (long i = 0; i <= log.Head; i++)
        {
            records[i] = log.RecordAt(i);
        }

        return records;
    }

    /// <summary>Writes <paramref name="records"/> as the copy of <paramref name="group"/>'s log (atomically: a
    /// temporary file, then a rename), now.</summary>
    /// <exception cref="MeshException">The file cannot be written.</exception>
    public void Write(string group, IReadOnlyList<byte[]> records)
    {
        var directory = Path.Combine(home, "groups");
        var path = PathOf(group);
        try
        {
            if (!Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            var temp = $"{path}.{Environment.ProcessId}.tmp";
            using (var writer = new StreamWriter(temp))
            {
                foreach (var record in records)
                {
                    writer.WriteLine(Convert.ToBase64String(record));
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
