using Mesh.Peer.Configuration;
using Mesh.Peer.Crypto;
using NetMQ;
using NSec.Cryptography;

namespace Mesh.Peer.Identity;

/// <summary>Keeps a peer's identity in its home directory: secret keys in files only their owner can read.</summary>
public static class IdentityStore
{
    public const string SecretFile = "identity.secret";
    public const string PublicFile = "identity.public";
    public const string SigningFile = "signing.secret";

    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Loads the identity of <paramref name="home"/>, creating what is missing the first time.</summary>
    public static PeerIdentity LoadOrCreate(string home)
    {
        EnsureHome(home);
        return new PeerIdentity(LoadOrCreateCurve(home), LoadOrCreateSigning(home));
    }

    private static NetMQCertificate LoadOrCreateCurve(string home)
    {
        var path = Path.Combine(home, SecretFile);
        if (Crypto.SecretFile.Read(path) is { } z85)
        {
            if (z85.Length != 40)
            {
                throw new MeshException($"{path} does not hold a Curve secret key (expected 40 Z85 characters)");
            }

            try
            {
                return NetMQCertificate.CreateFromSecretKey(z85);
            }
            catch (Exception e) when (e is ArgumentException or FormatException or IndexOutOfRangeException)
            {
                throw new MeshException($"{path} does not hold a Curve secret key ({e.Message})");
            }
        }

        var certificate = new NetMQCertificate();
        Crypto.SecretFile.Write(path, certificate.SecretKeyZ85!);
        File.WriteAllText(Path.Combine(home, PublicFile), certificate.PublicKeyZ85 + "\n");
        return certificate;
    }

    private static Key LoadOrCreateSigning(string home)
    {
        var path = Path.Combine(home, SigningFile);
        var parameters = new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
        if (Crypto.SecretFile.Read(path) is { } encoded)
        {
            try
            {
                var seed = Convert.FromBase64String(encoded);
                if (seed.Length == 32 && Key.TryImport(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey, out var key, in parameters) && key is not null)
                {
                    return key;
                }
            }
            catch (FormatException)
            {
            }

            throw new MeshException($"{path} does not hold an Ed25519 secret key (expected 32 bytes, base64)");
        }

        var created = Key.Create(SignatureAlgorithm.Ed25519, parameters);
        Crypto.SecretFile.Write(path, Convert.ToBase64String(created.Export(KeyBlobFormat.RawPrivateKey)));
        return created;
    }

    /// <summary>Creates the home directory (mode 0700) when missing.</summary>
    public static void EnsureHome(string home)
    {
        try
        {
            if (!System.IO.Directory.Exists(home))
            {
                System.IO.Directory.CreateDirectory(home, OwnerOnlyDirectory);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MeshException($"cannot create home directory {home}: {e.Message}");
        }
    }
}
