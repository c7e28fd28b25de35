namespace Mesh.Peer.Protocol;

/// <summary>An envelope as received: its clear header, and its sealed, signed body not yet checked.</summary>
public sealed record SealedEnvelope(
    string Group, string PeerId, long Epoch, long Seq, long SentAtMs, byte[] SigningKey, byte[] Nonce, byte[] Ciphertext, byte[] Signature)
{
    public string HistoryName => new Envelope(Group, PeerId, Epoch, Seq, "x", SentAtMs, "").HistoryName;
}
