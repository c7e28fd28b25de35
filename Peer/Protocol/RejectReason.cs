namespace Mesh.Peer.Protocol;

/// <summary>Why an incoming frame or stored record was not accepted.</summary>
public enum RejectReason
{
    None,

    /// <summary>Not a well-formed envelope (bad JSON, missing or out-of-range fields, oversized).</summary>
    Malformed,

    /// <summary>The signature does not verify, or the signing key does not belong to the claimed peer id.</summary>
    BadSignature,

    /// <summary>Not sealed with the group's key: the sender is not a member (or the key is not held here).</summary>
    NotSealedForGroup,

    /// <summary>Its sender was not a member when it says it sealed it, or it names an epoch its sender knew had ended.</summary>
    NotAMember,

    /// <summary>Live, under a key epoch whose successor was committed more than the in-flight grace ago.</summary>
    StaleEpoch,

    /// <summary>An edit of another member's message, or a delete by one who is neither its author nor an admin.</summary>
    NotAuthorised,
}
