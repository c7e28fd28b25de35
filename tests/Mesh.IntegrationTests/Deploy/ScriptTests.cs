using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Deploy;

/// <summary>The deploy scripts refuse to half-start: a busy port is named with who holds it, before anything runs.</summary>
[Category("Integration")]
public sealed class ScriptTests
{
    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
            {
                return dir.FullName;
            }
        }

        throw new AssertionException("Mesh.sln not found above the test's directory");
    }

    private static Task<(int Code, string Stderr)> RunAsync(string script, string home, params string[] args) =>
        RunAsync(script, home, new Dictionary<string, string>(), args);

    private static async Task<(int Code, string Stderr)> RunAsync(string script, string home, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(Root(), "deploy", script));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["MESH_HOME"] = home;
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode, await stderr + await stdout);
    }

    /// <summary>Holds a loopback port the way another program would; inconclusive if something already does.</summary>
    private static TcpListener Hold(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
        }
        catch (SocketException e)
        {
            Assert.Inconclusive($"port {port} is already in use on this machine ({e.SocketErrorCode}): the test needs it free to hold it");
        }

        return listener;
    }

    [Test]
    public async Task The_local_stack_refuses_a_busy_port_in_one_line_naming_it_and_starts_nothing()
    {
        var home = Path.Combine(Path.GetTempPath(), $"mesh-stack-{Guid.NewGuid():N}");
        // The stack's other ports must be free for the one held here to be the one named (a local etcd a peer
        // started on 2379, say, would be named first).
        foreach (var other in new[] { 2379, 22379, 32379, 2380, 22380, 8086, 8090 })
        {
            Hold(other).Stop();
        }

        using var held = new DisposableListener(Hold(32380));
        var (code, output) = await RunAsync("local-stack.sh", home, "start");
        Assert.That(code, Is.Not.Zero);
        Assert.That(output.Trim(), Is.EqualTo($"mesh: cannot start the local stack: port 32380 is taken by {Process.GetCurrentProcess().ProcessName} (pid {Environment.ProcessId})"));
        Assert.That(Directory.Exists(Path.Combine(home, "stack")), Is.False, "nothing started, nothing created");
    }

    [Test]
    public async Task The_local_etcd_refuses_a_busy_port_naming_who_holds_it()
    {
        var home = Path.Combine(Path.GetTempPath(), $"mesh-etcd-home-{Guid.NewGuid():N}");
        using var held = new DisposableListener(Hold(2380));
        var (code, output) = await RunAsync("local-etcd.sh", home, "start");
        Assert.That(code, Is.Not.Zero);
        Assert.That(output, Does.Contain($"port 2380 is taken by {Process.GetCurrentProcess().ProcessName} (pid {Environment.ProcessId})"));
        Assert.That(Directory.Exists(Path.Combine(home, "etcd")), Is.False);
    }

    [Test]
    public async Task The_local_etcd_status_says_what_holds_its_port_when_it_does_not_run()
    {
        var home = Path.Combine(Path.GetTempPath(), $"mesh-etcd-home-{Guid.NewGuid():N}");
        using var held = new DisposableListener(Hold(2379));
        var (code, output) = await RunAsync("local-etcd.sh", home, "status");
        Assert.That(code, Is.Not.Zero);
        Assert.That(output.Trim(), Is.EqualTo($"not running from {home}; port 2379 is held by {Process.GetCurrentProcess().ProcessName} (pid {Environment.ProcessId}): it does not answer as etcd"));
    }

    [Test]
    public async Task A_second_mesh_sh_run_does_not_build_again_and_a_changed_source_does()
    {
        var home = Path.Combine(Path.GetTempPath(), $"mesh-run-home-{Guid.NewGuid():N}");
        var stamp = Path.Combine(Root(), "Peer", "bin", "Release", "ready", ".published");
        // An etcd is "configured", so that no local one is started for --help.
        var etcd = new Dictionary<string, string> { ["MESH_ETCD"] = "http://127.0.0.1:1" };
        var (first, firstOut) = await RunAsync("mesh.sh", home, etcd, "--help");
        Assert.That(first, Is.Zero, firstOut);
        var built = File.GetLastWriteTimeUtc(stamp);

        var (second, secondOut) = await RunAsync("mesh.sh", home, etcd, "--help");
        Assert.That(second, Is.Zero, secondOut);
        Assert.That(File.GetLastWriteTimeUtc(stamp), Is.EqualTo(built), "not published again");
        Assert.That(secondOut, Does.Contain("join"));
        Assert.That(secondOut, Does.Not.Contain("building"), "nothing built, nothing said");

        // As if a source had changed since: the next run publishes again.
        File.SetLastWriteTimeUtc(stamp, new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var (third, thirdOut) = await RunAsync("mesh.sh", home, etcd, "--help");
        Assert.That(third, Is.Zero, thirdOut);
        Assert.That(thirdOut, Does.Contain("mesh: the sources changed since the last build: building again"), "a build is said before it starts");
        Assert.That(File.GetLastWriteTimeUtc(stamp), Is.GreaterThan(new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc)), "published again");
    }

    [Test]
    public async Task The_mesh_command_is_linked_once_and_taken_over_from_another_checkout_with_a_word()
    {
        var bin = Path.Combine(Path.GetTempPath(), $"mesh-bin-{Guid.NewGuid():N}");
        var target = Path.Combine(Root(), "deploy", "mesh.sh");
        try
        {
            Directory.CreateDirectory(bin);
            File.CreateSymbolicLink(Path.Combine(bin, "mesh"), "/elsewhere/checkout/deploy/mesh.sh");
            async Task<(int Code, string Output)> LinkAsync()
            {
                var info = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
                info.ArgumentList.Add("-c");
                info.ArgumentList.Add($"source '{Path.Combine(Root(), "deploy", "lib.sh")}' && link_command");
                info.Environment["MESH_BIN_DIR"] = bin;
                using var process = Process.Start(info)!;
                var output = await process.StandardError.ReadToEndAsync() + await process.StandardOutput.ReadToEndAsync();
                await process.WaitForExitAsync();
                return (process.ExitCode, output);
            }

            var (code, output) = await LinkAsync();
            Assert.That(code, Is.Zero, output);
            Assert.That(output.Trim(), Is.EqualTo($"mesh: `mesh` ran /elsewhere/checkout/deploy/mesh.sh; it now runs this checkout ({target})"));
            Assert.That(new FileInfo(Path.Combine(bin, "mesh")).LinkTarget, Is.EqualTo(target));

            (code, output) = await LinkAsync();
            Assert.That(code, Is.Zero);
            Assert.That(output, Is.Empty, "already this checkout's: nothing to say");
        }
        finally
        {
            Directory.Delete(bin, recursive: true);
        }
    }

    private sealed class DisposableListener(TcpListener listener) : IDisposable
    {
        public void Dispose() => listener.Stop();
    }
}
