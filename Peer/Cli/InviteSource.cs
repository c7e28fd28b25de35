using System.Text;
using Mesh.Peer.Configuration;

namespace Mesh.Peer.Cli;

/// <summary>Where <c>mesh join</c> takes an invite code from: a file (<c>--invite-file</c>, <c>-</c> for the first line
/// of standard input) or <c>MESH_INVITE</c>; never a flag value, which <c>ps</c> and shell history would show.</summary>
internal static class InviteSource
{
    public const string Variable = "MESH_INVITE";

    public static string Describe(string? file) => file is null ? Variable : file == "-" ? "--invite-file - (stdin)" : $"--invite-file {file}";

    /// <summary>The code, or null when none is given. Reading stdin takes exactly one line, byte by byte, so that what
    /// follows it is still there for the chat.</summary>
    public static string? Read(string? file, bool terminal)
    {
        if (file is null)
        {
            return Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } fromEnvironment ? fromEnvironment.Trim() : null;
        }

        if (file == "-")
        {
            if (terminal && !Console.IsInputRedirected)
            {
                Console.Error.Write("invite code: ");
            }

            var line = ReadLine(Console.OpenStandardInput());
            return line ?? throw new MeshException("--invite-file -: standard input ended before an invite code", 2);
        }

        try
        {
            var text = File.ReadAllText(file);
            if (text.Length > 4096)
            {
                throw new MeshException($"--invite-file {file}: not an invite code ({text.Length} characters)", 2);
            }

            return text.Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MeshException($"--invite-file {file}: {e.Message}", 2);
        }
    }

    private static string? ReadLine(Stream stdin)
    {
        var bytes = new List<byte>(128);
        var one = new byte[1];
        while (bytes.Count < 4096)
        {
            if (stdin.Read(one, 0, 1) == 0)
            {
                return bytes.Count == 0 ? null : Encoding.UTF8.GetString([.. bytes]).Trim();
            }

            if (one[0] == (byte)'\n')
            {
                return Encoding.UTF8.GetString([.. bytes]).Trim();
            }

            bytes.Add(one[0]);
        }

        throw new MeshException("--invite-file -: the first line of standard input is not an invite code (too long)", 2);
    }
}
