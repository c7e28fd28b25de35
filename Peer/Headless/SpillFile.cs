using Microsoft.Win32.SafeHandles;

namespace Mesh.Peer.Headless;

/// <summary>A file for output that does not fit in memory: appended at its end, read back from any offset, and removed
/// once read. Mode 0600 from its first byte, in a 0700 directory: it holds what the chat said, in clear.</summary>
/// <remarks>Positional reads and writes (no shared position), so that one thread may read what is written while
/// another appends beyond it. The file exists only between the first <see cref="Append"/> and <see cref="Delete"/>.</remarks>
public sealed class SpillFile(string path) : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = OwnerOnly | UnixFileMode.UserExecute;

    private FileStream? _file;
    private SafeFileHandle? _handle;

    public string Path => path;

    /// <summary>Bytes appended since the file was created.</summary>
    public long Length { get; private set; }

    /// <summary>Appends <paramref name="bytes"/>, creating the file (and its directory) first when it does not exist. A
    /// write that fails leaves <see cref="Length"/> where it was: the next append writes over what it left.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        _handle ??= Create().SafeFileHandle;
        RandomAccess.Write(_handle, bytes, Length);
        Length += bytes.Length;
    }

    /// <summary>Reads up to <paramref name="into"/>'s length from <paramref name="offset"/>, below <see cref="Length"/>.</summary>
    public int Read(long offset, Span<byte> into)
    {
        var handle = _handle ?? throw new InvalidOperationException($"{path} was not written");
        var read = RandomAccess.Read(handle, into, offset);
        return read > 0 ? read : throw new IOException($"{path} ended at {offset} before {Length}");
    }

    /// <summary>Closes and removes the file; the next append starts a new one.</summary>
    public void Delete()
    {
        _file?.Dispose();
        _file = null;
        _handle = null;
        Length = 0;
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    public void Dispose() => Delete();

    /// <summary>Removes files named <paramref name="pattern"/> in <paramref name="directory"/>: what a run that crashed
    /// left. Only for the home's owner (it holds the home's lock): no other run is writing them.</summary>
    public static void RemoveStale(string directory, string pattern)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        foreach (var stale in Directory.EnumerateFiles(directory, pattern))
        {
            File.Delete(stale);
        }
    }

    private FileStream Create()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!, OwnerOnlyDirectory);
        // A file left under this name (this process id, reused) was never this run's: start afresh, 0600.
        File.Delete(path);
        // Unbuffered: every read and write goes through RandomAccess at its own offset, never the stream's position.
        return _file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            BufferSize = 0,
            UnixCreateMode = OwnerOnly,
        });
    }
}
