namespace Mesh.Peer.Groups;

/// <summary>Takes a <see cref="GroupLogCopy"/>'s file work off its owner's thread, in the order handed over (the
/// session's <c>HomeWriter</c>).</summary>
public interface ILogCopyWriter
{
    /// <summary>Writes the whole copy of <paramref name="log"/>: a snapshot of its records taken now, so later changes
    /// to the log do not race the write. A failure is reported by the writer; the next save writes it all again.</summary>
    void SaveLogCopy(GroupLog log);

    /// <summary>Moves the copy of <paramref name="group"/>'s log aside once the writes handed over before are done;
    /// the task carries a failure.</summary>
    Task MoveLogCopyAsideAsync(string group, string aside);

    /// <summary>Reads the copy of <paramref name="group"/>'s log after the writes handed over before (null when this
    /// home never joined it); the task carries a damaged copy's <c>MeshException</c>.</summary>
    Task<GroupLog?> LoadLogCopyAsync(string group);
}
