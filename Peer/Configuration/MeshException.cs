namespace Mesh.Peer.Configuration;

/// <summary>A failure the user can act on; its message is printed as one line, without a stack trace.</summary>
public sealed class MeshException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
