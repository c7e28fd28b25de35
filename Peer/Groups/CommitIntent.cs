namespace Mesh.Peer.Groups;

/// <summary>A change a peer wants in a group's log, built afresh against the log as it stands at each try.</summary>
/// <param name="What">What it is, for the user and the log (<c>removing amy</c>).</param>
/// <param name="Build">The change against the current log; null when it is no longer needed (done by someone else).</param>
/// <param name="ThenDelete">Keys to delete once it landed (admission requests it served).</param>
public sealed record CommitIntent(string What, Func<GroupLog, GroupCommits.Commit?> Build, IReadOnlyList<string> ThenDelete)
{
    /// <summary>Told on the loop how it ended: <see cref="CommitEnd.Landed"/>, <see cref="CommitEnd.NotNeeded"/>, or
    /// <see cref="CommitEnd.GaveUp"/> (the index stayed taken by junk for every try).</summary>
    public Func<CommitEnd, Task>? Then { get; init; }
}
