using Mesh.Peer.Configuration;

namespace Mesh.Peer.Identity;

/// <summary>Keeps a second peer from running on the same home (and so with the same identity) at once.</summary>
public sealed class HomeLock : IDisposable
{
    private readonly FileStream _lock;

    private HomeLock(FileStream stream) => _lock = stream;

    public static HomeLock Acquire(string home)
    {
        var path = Path.Combine(home, "peer.lock");
        try
        {
            // FileShare.None is an advisory whole-file lock on Unix: it is released when the process dies.
            return new HomeLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException)
        {
            throw new MeshException($"another mesh peer is already running with home {home} (set --home or MESH_HOME for a second one)");
        }
    }

    public void Dispose() => _lock.Dispose();
}
