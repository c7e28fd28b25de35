using Mesh.Peer.Configuration;

namespace Mesh.Peer.Crypto;

/// <summary>Reads and writes secrets in files only their owner can read (mode 0600 from the first byte).</summary>
public static class SecretFile
{
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Writes <paramref name="content"/> atomically: a temporary 0600 file, flushed, then renamed.</summary>
    public static void Write(string path, string content)
    {
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            using (var stream = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                UnixCreateMode = OwnerOnly,
            }))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(content);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MeshException($"cannot write {path}: {e.Message}");
        }
    }

    /// <summary>Reads a secret, refusing a file that others can read; null when it does not exist.</summary>
    public static string? Read(string path)
    {
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            var mode = File.GetUnixFileMode(path);
            if ((mode & ~OwnerOnly) != 0)
            {
                throw new MeshException($"{path} is readable by others (mode {Convert.ToString((int)mode, 8)}): run chmod 600 on it");
            }

            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MeshException($"cannot read {path}: {e.Message}");
        }
    }
}
