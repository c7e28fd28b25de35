using System.Text;

namespace Mesh.Peer.Protocol;

/// <summary>ZeroMQ topics: the first frame of every message a peer publishes.</summary>
/// <remarks>
/// SUB filtering is by prefix, so a group topic ends in a NUL byte: "ops\0" never matches "ops2\0". Control topics
/// start with 0x01, which no group name can.
/// </remarks>
public static class Topics
{
    /// <summary>Published by a peer whenever a subscriber subscribes to it: proof, to that subscriber, that the
    /// Curve handshake succeeded and its subscriptions are in place.</summary>
    public static readonly byte[] Hello = [0x01, (byte)'h'];

    public static byte[] ForGroup(string group)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(group) + 1];
        Encoding.UTF8.GetBytes(group, bytes);
        return bytes;
    }

    /// <summary>The group a topic frame names, or null when it is not a group topic.</summary>
    public static string? GroupOf(ReadOnlySpan<byte> topic)
    {
        if (topic.Length < 2 || topic[^1] != 0 || topic[0] == 0x01)
        {
            return null;
        }

        return Encoding.UTF8.GetString(topic[..^1]);
    }
}
