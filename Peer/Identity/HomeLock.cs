using Mesh.Peer.Configuration;

namespace Mesh.Peer.Identity;

/// <summary>Keeps a second peer from running on the same home (and so with the same identity) at once.</summary>
public sealed class HomeLock : IDisposable
{
    /// <summary>How long a peer waits for one that holds its home: long enough for a peer that is shutting down
    /// (a restart right after Ctrl-C), short enough that a second peer on the same home is refused promptly.</summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    private readonly FileStream _lock;

    private HomeLock(FileStream stream) => _lock = stream;

    /// <summary>Takes the home's lock, waiting up to <paramref name="wait"/> for a peer that holds it to exit; tells
    /// <paramref name="waiting"/> once when it has to wait.</summary>
    public static async Task<HomeLock> AcquireAsync(string home, TimeSpan wait, Action<string> waiting, TimeProvider? time = null,
        CancellationToken ct = default)
    {
        time ??= TimeProvider.System;
        var started = time.GetTimestamp();
        var told = false;
        while (true)
        {
            if (TryAcquire(home) is { } taken)
            {
                return taken;
            }

            if (time.GetElapsedTime(started) >= wait)
            {
                throw new MeshException($"another mesh peer is already running with home {home} (set --home or MESH_HOME for a second one)");
            }

            if (!told)
            {
                waiting($"waiting for the mesh peer running with home {home} to exit");
                told = true;
            }

            await Task.Delay(Poll, time, ct);
        }
    }

    private static HomeLock? TryAcquire(string home)
    {
        var path = Path.Combine(home, "peer.lock");
        try
        {
            // FileShare.None is an advisory whole-file lock on Unix: it is released when the process dies.
            return new HomeLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException) when (File.Exists(path))
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not held by another peer: the lock file cannot be made at all (a read-only or foreign home).
            throw new MeshException($"cannot open or create the lock file {path}: {e.Message.ReplaceLineEndings(" ")}");
        }
    }

    public void Dispose() => _lock.Dispose();
}
