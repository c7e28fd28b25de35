using System.Diagnostics;

namespace Mesh.Testing;

/// <summary>Runs the real <c>mesh</c> executable as a child process.</summary>
public static class MeshCli
{
    /// <summary>The peer to run: MESH_DLL when set (deploy/test.sh and deploy/bench.sh point it at the precompiled
    /// peer that deploy/mesh.sh runs), else the mesh.dll built next to the tests.</summary>
    public static string Dll => Environment.GetEnvironmentVariable("MESH_DLL") is { Length: > 0 } dll ? dll : Path.Combine(AppContext.BaseDirectory, "mesh.dll");

    public static ProcessStartInfo StartInfo(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
            StandardErrorEncoding = System.Text.Encoding.UTF8,
        };
        info.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // Tests choose every setting explicitly; nothing leaks in from the environment they run in.
        foreach (var name in new[] { "MESH_ETCD", "MESH_HOME", "MESH_NAME" })
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return info;
    }

    /// <summary>Runs a command to completion; stdin is closed at once.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) => RunAsync(null, args);

    /// <summary>As above, with variables set for the command.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var process = Process.Start(StartInfo(args, environment))!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"mesh {string.Join(' ', args)} did not finish within 60 s");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
