using System.Runtime.InteropServices;
using System.Text;

namespace Mesh.Peer.Runtime;

/// <summary>Starts a peer with the runtime told that spinning does not pay: .NET's waits (the semaphore behind the
/// blocking collection that NetMQ's I/O thread sleeps on, among others) spin with <c>sched_yield</c> before they sleep
/// unless the process has one processor. A peer waits far more than it works: measured on an idle peer, that spin was
/// 7,339 <c>sched_yield</c> calls in 10 s, 13 times what is left with it off (docs/performance.md).</summary>
/// <remarks>
/// The runtime reads its processor count once, at start, from <c>DOTNET_PROCESSOR_COUNT</c>, and has no setting for it
/// in its configuration file: so the peer, started without it, replaces itself (<c>execve</c>, same process id, same
/// open files and standard streams) with the same command and the variable set to 1, before it has done anything.
/// What does need the real cores is told them through <c>MESH_CORES</c>: the thread pool's minimum and the history
/// opener's parallelism. A variable set by the user is kept as it is; <c>MESH_SPIN=1</c> leaves the runtime alone.
/// </remarks>
public static class SpinFreeRuntime
{
    private const string ProcessorCount = "DOTNET_PROCESSOR_COUNT";
    private const string CoresVariable = "MESH_CORES";
    private const string KeepSpinning = "MESH_SPIN";

    /// <summary>The machine's cores as the process was started with them (not the runtime's count, which may be 1 here).</summary>
    public static int Cores { get; private set; } = Environment.ProcessorCount;

    /// <summary>For the long-running peer (<c>mesh join</c>): replaces the process as described above when the runtime was
    /// started spinning, and otherwise sets the thread pool's minimum to the real cores. Returns when no replacement is
    /// due or it failed (then the peer runs as it is).</summary>
    public static void Apply()
    {
        if (Environment.GetEnvironmentVariable(CoresVariable) is { } cores && int.TryParse(cores, out var n) && n > 0)
        {
            Cores = n;
            ThreadPool.GetMinThreads(out var workers, out var io);
            ThreadPool.SetMinThreads(Math.Max(workers, n), io);
        }

        // Set already (by the launcher, by this replacement, or by the user), or not wanted: nothing to replace.
        if (!OperatingSystem.IsLinux() || Environment.ProcessorCount == 1
            || Environment.GetEnvironmentVariable(ProcessorCount) is not null || Environment.GetEnvironmentVariable(KeepSpinning) == "1")
        {
            return;
        }

        try
        {
            // The command exactly as started (the host and its arguments), NUL-separated.
            var args = Encoding.UTF8.GetString(File.ReadAllBytes("/proc/self/cmdline")).TrimEnd('\0').Split('\0');
            var exe = new FileInfo("/proc/self/exe").LinkTarget;
            if (exe is null || args.Length == 0)
            {
                return;
            }

            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            {
                env[(string)e.Key] = (string?)e.Value ?? "";
            }

            env[ProcessorCount] = "1";
            env[CoresVariable] = Cores.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Execve(exe, [.. args, null], [.. env.Select(e => $"{e.Key}={e.Value}"), null]);
            // Only a failure returns: the peer runs as it was started.
        }
        catch (Exception)
        {
            // Whatever kept it from happening (no /proc, no execve): the peer runs as it was started.
        }
    }

    [DllImport("libc", EntryPoint = "execve", SetLastError = true)]
    private static extern int Execve([MarshalAs(UnmanagedType.LPUTF8Str)] string path,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string?[] argv,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string?[] envp);
}
