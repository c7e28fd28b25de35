namespace Mesh.Peer.Groups;

/// <summary>What one entry of a group log changes.</summary>
public enum LogOp
{
    /// <summary>The group begins: its name, policy, creator and first key epoch.</summary>
    Genesis,

    /// <summary>A member admits a peer (its signing and Curve keys are pinned here).</summary>
    Add,

    /// <summary>The creator or an admin removes a member; a new key epoch starts in the same entry.</summary>
    Remove,

    /// <summary>A member leaves; the next entry should be a new key epoch, committed by one who stays.</summary>
    Leave,

    /// <summary>A new key epoch: a fresh key, wrapped to every member.</summary>
    Epoch,

    /// <summary>The creator grants a member the right to remove others.</summary>
    Admin,

    /// <summary>The creator changes the admission policy.</summary>
    Policy,
}
