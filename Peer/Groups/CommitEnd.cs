namespace Mesh.Peer.Groups;

/// <summary>How a <see cref="CommitIntent"/> ended.</summary>
public enum CommitEnd
{
    /// <summary>This peer's entry was written.</summary>
    Landed,

    /// <summary>The log no longer needs it (another member made the change, or it no longer applies).</summary>
    NotNeeded,

    /// <summary>Every try found the index taken by records the log refuses, rewritten between tries.</summary>
    GaveUp,
}
