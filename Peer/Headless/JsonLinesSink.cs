using System.Buffers;
using Mesh.Peer.Session;

namespace Mesh.Peer.Headless;

/// <summary>The headless mode's events as JSON lines: written into one buffer on the session's loop as they come, and
/// handed to the output (which never waits) once per batch, so that a burst of messages costs one hand-over, one
/// wake-up of the output's thread and one write.</summary>
/// <param name="output">Where the lines go.</param>
/// <param name="seen">Told of every event, written or not, before it is written (the runner waits for a <c>ready</c>).</param>
public sealed class JsonLinesSink(SpillingOutput output, Action<MeshEvent> seen) : IEventSink
{
    /// <summary>A batch larger than this is handed over in pieces of about this size.</summary>
    public const int PieceBytes = 60 * 1024;

    private ArrayBufferWriter<byte> _buffer = new(64 * 1024);

    public void Take(MeshEvent e)
    {
        seen(e);
        if (!EventJson.IsWritten(e))
        {
            return;
        }

        EventJson.Write(_buffer, e);
        _buffer.Write("\n"u8);
        if (_buffer.WrittenCount > PieceBytes)
        {
            Flush();
        }
    }

    public void Flush()
    {
        output.Add(_buffer.WrittenSpan);
        _buffer.ResetWrittenCount();
        if (_buffer.Capacity > 4 * PieceBytes)
        {
            // One huge event (a long history line) grew it: do not keep that much for good.
            _buffer = new ArrayBufferWriter<byte>(64 * 1024);
        }
    }

    public void Complete()
    {
        Flush();
        output.Complete();
    }
}
