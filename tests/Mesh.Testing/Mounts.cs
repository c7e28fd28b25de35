namespace Mesh.Testing;

/// <summary>File systems a test makes and removes itself (root only): a small tmpfs to fill, a read-only view of a
/// directory. Disposing unmounts, lazily if something still holds it open.</summary>
public sealed class Mounts : IDisposable
{
    private readonly string _target;
    private readonly bool _removeDirectory;

    private Mounts(string target, bool removeDirectory)
    {
        _target = target;
        _removeDirectory = removeDirectory;
    }

    public string Path => _target;

    /// <summary>A tmpfs of <paramref name="megabytes"/> MiB at a new directory.</summary>
    public static Mounts Tmpfs(int megabytes)
    {
        var dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"mesh-tmpfs-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0700", "tmpfs", dir);
        return new Mounts(dir, removeDirectory: true);
    }

    /// <summary>Makes <paramref name="dir"/> read-only in place (a read-only bind mount over it) until disposed.</summary>
    public static Mounts ReadOnly(string dir)
    {
        Run("mount", "--bind", dir, dir);
        try
        {
            Run("mount", "-o", "remount,bind,ro", dir);
        }
        catch
        {
            Tool.Run("umount", ["-l", dir]);
            throw;
        }

        return new Mounts(dir, removeDirectory: false);
    }

    /// <summary>Fills the file system with one file until it is full; returns the file (delete it to make room).</summary>
    public string Fill()
    {
        var filler = System.IO.Path.Combine(_target, "filler");
        var chunk = new byte[256 * 1024];
        using var file = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        try
        {
            while (true)
            {
                file.Write(chunk);
            }
        }
        catch (IOException)
        {
            // Full. A last small write takes what the big ones left.
        }

        try
        {
            while (true)
            {
                file.Write(chunk, 0, 512);
            }
        }
        catch (IOException)
        {
        }

        return filler;
    }

    private static void Run(string file, params string[] args)
    {
        var (code, output) = Tool.Run(file, args);
        if (code != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {output} (these tests run as root)");
        }
    }

    public void Dispose()
    {
        Tool.Run("umount", ["-l", _target]);
        if (_removeDirectory)
        {
            try
            {
                Directory.Delete(_target, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
