using System.Diagnostics;
using System.Text.RegularExpressions;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>The session's loop never touches the disk: the outbox, the local copy, keys and the log copy are written by
/// the home's writer thread. Checked with strace on the loop thread of a real peer while messages go both ways.</summary>
public sealed partial class LoopDiskTests : EtcdFixture
{
    /// <summary>System calls that open, write, sync, rename or delete; <c>-y</c> names each descriptor's file.</summary>
    private const string Traced = "open,openat,creat,write,writev,pwrite64,pwritev,fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,ftruncate,sendto,recvfrom,poll,ppoll,epoll_wait,epoll_pwait,read";

    [Test]
    public async Task The_loop_thread_opens_writes_and_syncs_no_file_while_messages_go_both_ways()
    {
        var group = NewGroup("disk");
        var (ada, ben) = await StartPairAsync(group, "ada", "ben");
        var loop = LoopThreadOf(ada.Pid);
        var trace = Path.Combine(Path.GetTempPath(), $"mesh-loop-{Guid.NewGuid():N}.strace");
        using var strace = Process.Start(new ProcessStartInfo("strace", ["-p", loop.ToString(), "-y", "-qq", "-e", $"trace={Traced}", "-o", trace])
        {
            RedirectStandardError = true,
        })!;
        try
        {
            // Attached once the loop's first traced call is in the file (the loop polls its sockets while idle).
            await Waiting.UntilAsync(() => File.Exists(trace) && new FileInfo(trace).Length > 0, TimeSpan.FromSeconds(20), "strace attached to the loop thread");

            const int each = 300;
            await ada.SendManyAsync(Enumerable.Range(0, each).Select(i => $"ada {i}").ToList());
            await ben.SendManyAsync(Enumerable.Range(0, each).Select(i => $"ben {i}").ToList());
            await MarkAsync(ada, group, ben);
            await MarkAsync(ben, group, ada);
            Assert.That(Texts(ada, group).Count(t => t.StartsWith("ben ")), Is.EqualTo(each));
            Assert.That(Texts(ben, group).Count(t => t.StartsWith("ada ")), Is.EqualTo(each));
        }
        finally
        {
            strace.Kill();
            await strace.WaitForExitAsync();
        }

        var lines = await File.ReadAllLinesAsync(trace);
        File.Delete(trace);
        // A descriptor strace names with a path is a file; sockets, pipes and eventfds it names otherwise. /proc and /sys
        // are not the disk: the runtime reads /proc/meminfo on the thread whose allocation starts a collection.
        var onFiles = lines.Where(l => (FileCall().IsMatch(l) || PathDescriptor().IsMatch(l)) && !Kernel().IsMatch(l)).ToList();
        TestContext.Out.WriteLine($"{lines.Length} traced calls on the loop thread; {onFiles.Count} on files");
        Assert.That(lines.Length, Is.GreaterThan(0), "the loop thread was traced (it polls its sockets)");
        Assert.That(onFiles, Is.Empty, "the loop thread touched files:\n" + string.Join("\n", onFiles.Take(20)));
    }

    /// <summary>The thread of <paramref name="pid"/> that runs the session's loop (the node's poller, named mesh-node).</summary>
    private static int LoopThreadOf(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task")
            .Select(d => (Tid: int.Parse(Path.GetFileName(d)), Name: File.ReadAllText(Path.Combine(d, "comm")).Trim()))
            .Single(t => t.Name == "mesh-node").Tid;

    /// <summary>Calls that name a file by path: any open, rename or unlink.</summary>
    [GeneratedRegex(@"^\s*(?:\d+\s+)?(open|openat|creat|rename|renameat2?|unlink|unlinkat)\(")]
    private static partial Regex FileCall();

    /// <summary>A call on the kernel's own files (/proc, /sys, /dev), named as a path or as a descriptor.</summary>
    [GeneratedRegex(@"(""|<)/(proc|sys|dev)/")]
    private static partial Regex Kernel();

    /// <summary>A write, sync or truncation of a descriptor strace names by a path.</summary>
    [GeneratedRegex(@"^\s*(?:\d+\s+)?(write|writev|pwrite64|pwritev|fsync|fdatasync|ftruncate)\(\d+</")]
    private static partial Regex PathDescriptor();
}
