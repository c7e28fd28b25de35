namespace Mesh.Peer.Protocol;

/// <summary>An envelope as received: its clear header, and its sealed, signed body not yet checked.</summary>
public sealed record SealedEnvelope(
    string Group, string PeerId, long Epoch, long Seq, long SentAtMs, byte[] SigningKey, byte[] Nonce, byte[] Ciphertext, byte[] Signature)
{
    /// <summary>The format: 5 (order stamps), 4 (key epochs), 3 (signed by burst) or 2 (signed alone, older history).</summary>
    public int Version { get; init; } = EnvelopeCodec.Version;

    /// <summary>The message's place in its burst (version 3).</summary>
    public int Index { get; init; }

    /// <summary>How many messages its burst holds (version 3).</summary>
    public int Width { get; init; } = 1;

    /// <summary>The siblings on the way from the message to its burst's root (version 3).</summary>
    public byte[] Path { get; init; } = [];

    /// <summary>The group key epoch it is sealed under (version 4; 0 for older versions, which no group log has).</summary>
    public long KeyEpoch { get; init; }

    /// <summary>The last group-log index its sender had applied when it sealed it (version 4).</summary>
    public long LogHead { get; init; }

    /// <summary>The order stamp (version 5; 0 before it).</summary>
    public long OrderMs { get; init; }

    public string HistoryName => new Envelope(Group, PeerId, Epoch, Seq, "x", SentAtMs, "", OrderMs).HistoryName;
}
