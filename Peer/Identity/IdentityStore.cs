using NetMQ;
using Mesh.Peer.Configuration;

namespace Mesh.Peer.Identity;

/// <summary>Keeps a peer's identity in its home directory: the secret key in a file only its owner can read.</summary>
public static class IdentityStore
{
    public const string SecretFile = "identity.secret";
    public const string PublicFile = "identity.public";

    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Loads the identity of <paramref name="home"/>, creating a new one the first time.</summary>
    public static PeerIdentity LoadOrCreate(string home)
    {
        EnsureHome(home);
        var secretPath = Path.Combine(home, SecretFile);
        if (File.Exists(secretPath))
        {
            return Load(secretPath);
        }

        var certificate = new NetMQCertificate();
        try
        {
            // Created with mode 0600 from the first byte: the secret is never readable by others, not even briefly.
            using (var stream = new FileStream(secretPath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = OwnerOnlyFile,
            }))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(certificate.SecretKeyZ85);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            File.WriteAllText(Path.Combine(home, PublicFile), certificate.PublicKeyZ85 + "\n");
        }
        catch (IOException) when (File.Exists(secretPath))
        {
            // Another process created it first: use that one.
            return Load(secretPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MeshException($"cannot write identity to {secretPath}: {e.Message}");
        }

        return new PeerIdentity(certificate);
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

    private static PeerIdentity Load(string secretPath)
    {
        try
        {
            var mode = File.GetUnixFileMode(secretPath);
            if ((mode & ~OwnerOnlyFile) != 0)
            {
                throw new MeshException($"{secretPath} is readable by others (mode {Convert.ToString((int)mode, 8)}): run chmod 600 on it");
            }

            var z85 = File.ReadAllText(secretPath).Trim();
            if (z85.Length != 40)
            {
                throw new MeshException($"{secretPath} does not hold a Curve secret key (expected 40 Z85 characters)");
            }

            return new PeerIdentity(NetMQCertificate.CreateFromSecretKey(z85));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or FormatException)
        {
            throw new MeshException($"cannot read identity from {secretPath}: {e.Message}");
        }
    }
}
