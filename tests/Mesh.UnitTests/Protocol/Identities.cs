using Mesh.Peer.Identity;
using NetMQ;
using NSec.Cryptography;

namespace Mesh.UnitTests.Protocol;

/// <summary>Fresh peer identities held in memory only.</summary>
internal static class Identities
{
    public static PeerIdentity New() =>
        new(new NetMQCertificate(), Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));
}
