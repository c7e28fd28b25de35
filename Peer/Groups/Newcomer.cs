using Mesh.Coordinator.Membership;
using Mesh.Peer.Configuration;
using NetMQ;

namespace Mesh.Peer.Groups;

/// <summary>A peer a member may add to the log: who it is, the invite it redeemed (private groups), and its consent.</summary>
public sealed record Newcomer(LogMember Member, string? Invite, byte[]? Consent)
{
    /// <summary>The newcomer a signed presence record offers, or null with the reason when the log would refuse its
    /// addition (a name or key it could not hold, no consent to this group): such a record is never admitted, so it
    /// cannot cost an admission batch the others in it.</summary>
    public static Newcomer? TryFrom(MemberRecord record, GroupLog log, out string reason)
    {
        reason = "";
        if (log.IsDirect)
        {
            reason = "a direct conversation admits no one";
            return null;
        }

        if (!Naming.IsValidName(record.Name))
        {
            reason = "an invalid name";
            return null;
        }

        byte[] signingKey;
        try
        {
            signingKey = Convert.FromBase64String(record.SigningKey);
            _ = NetMQCertificate.FromPublicKey(record.PublicKeyZ85);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            reason = "malformed keys";
            return null;
        }

        byte[]? consent = null;
        if (record.Consent is { } text)
        {
            try
            {
                consent = Convert.FromBase64String(text);
            }
            catch (FormatException)
            {
                reason = "a malformed consent";
                return null;
            }
        }

        var newcomer = new Newcomer(new LogMember(record.PeerId, signingKey, record.PublicKeyZ85, record.Name, Admin: false), null, consent);
        if (!log.AcceptsConsentOf(newcomer))
        {
            reason = "no consent of its own to join this group";
            return null;
        }

        return newcomer;
    }
}
