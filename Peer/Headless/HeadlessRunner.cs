using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using Mesh.Peer.Session;

namespace Mesh.Peer.Headless;

/// <summary>Runs a session for scripts and bots: lines from stdin in, one JSON event per line on stdout.</summary>
public static class HeadlessRunner
{
    public static async Task<int> RunAsync(ChatSession session, IReadOnlyList<string> groups, JoinRequest request, CancellationToken ct)
    {
        // Ctrl+C and SIGTERM leave cleanly, exactly like end of input.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; session.PostEndOfInput(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; session.PostEndOfInput(); });

        var writer = Task.Run(() => WriteEventsAsync(session, Console.OpenStandardOutput()));
        var reader = new Thread(() => ReadLines(session)) { IsBackground = true, Name = "stdin" };
        reader.Start();
        int code;
        try
        {
            code = await session.RunAsync(groups, request, ct);
        }
        finally
        {
            await session.DisposeAsync();
            await writer;
        }

        return code;
    }

    private static void ReadLines(ChatSession session)
    {
        using var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false), false, 64 * 1024);
        while (stdin.ReadLine() is { } line)
        {
            session.PostLine(line);
        }

        session.PostEndOfInput();
    }

    private static async Task WriteEventsAsync(ChatSession session, Stream stdout)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var events = session.Events;
        while (await events.WaitToReadAsync())
        {
            // Write everything that is ready, then flush once: one syscall for a burst, not one per message.
            while (events.TryRead(out var e))
            {
                if (!EventJson.IsWritten(e))
                {
                    continue;
                }

                EventJson.Write(buffer, e);
                buffer.Write("\n"u8);
                if (buffer.WrittenCount > 60 * 1024)
                {
                    await stdout.WriteAsync(buffer.WrittenMemory);
                    buffer.ResetWrittenCount();
                }
            }

            await stdout.WriteAsync(buffer.WrittenMemory);
            buffer.ResetWrittenCount();
            await stdout.FlushAsync();
        }
    }
}
