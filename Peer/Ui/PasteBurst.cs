using System.Text;

namespace Mesh.Peer.Ui;

/// <summary>Tells typing from a paste the terminal did not bracket: characters that come faster than anyone types
/// are held and inserted as one paste, and an Enter among them is a line break instead of a send. Without it each
/// pasted line would be sent by itself, and every character would go through the input field one at a time.</summary>
public sealed class PasteBurst
{
    /// <summary>Keys closer than this are a paste: key repeat and the fastest typists are 30 ms apart or more.</summary>
    public static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(8);

    private readonly StringBuilder _held = new();
    private readonly int _maxChars;
    private TimeSpan? _last;
    private long _dropped;

    /// <param name="maxChars">Held at most; what comes past it is counted, not kept, and the paste is refused.</param>
    public PasteBurst(int maxChars) => _maxChars = maxChars;

    /// <summary>True while characters are held for insertion.</summary>
    public bool Holding => _held.Length > 0 || _dropped > 0;

    /// <summary>Offers a character typed at <paramref name="at"/> (a monotonic clock); true when it belongs to a
    /// paste and is held, false when it is typing (flush what is held first, with <see cref="Take"/>).</summary>
    public bool Offer(string text, TimeSpan at)
    {
        var fast = _last is { } last && at - last < Gap;
        _last = at;
        if (!fast)
        {
            return false;
        }

        if (_held.Length + text.Length <= _maxChars)
        {
            _held.Append(text);
        }
        else
        {
            _dropped += text.Length;
        }

        return true;
    }

    /// <summary>A key that is not a character ends a paste (it is handled as typed).</summary>
    public void Interrupt() => _last = null;

    /// <summary>What is held, and how many characters past the bound were dropped; nothing is held afterwards.</summary>
    public (string Text, long Dropped) Take()
    {
        var taken = (_held.ToString(), _dropped);
        _held.Clear();
        _dropped = 0;
        return taken;
    }
}
