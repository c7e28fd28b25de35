using System.Collections.Concurrent;
using System.Reflection;
using Terminal.Gui.App;
using Terminal.Gui.Drivers;
using Terminal.Gui.Input;
using Terminal.Gui.Time;

namespace Mesh.Peer.Ui;

/// <summary>Alt+key as terminals send it, ESC then the key, taken as Alt+key the moment both are read.</summary>
/// <remarks>Terminal.Gui's parser holds ESC and whatever follows it until its escape timeout, and only then matches a
/// lone <c>ESC x</c> as Alt+x. Keys typed before that timeout joined the held text, which was then thrown away as an
/// unknown sequence: Alt+1 followed at once by <c>/remove cy</c> lost the switch and the first characters, and
/// <c>ove cy</c> went as a message to the group still shown. Here ESC followed by a character that starts no terminal
/// sequence is Alt+that character at once, and the keys after it are typed as they came.</remarks>
public static class AltKeys
{
    /// <summary>Whether ESC followed by <paramref name="c"/> is Alt+<paramref name="c"/>: printable ASCII and DEL, except
    /// what starts or ends a terminal sequence (<c>[</c> CSI, <c>]</c> OSC, <c>O</c> SS3, <c>P</c> DCS, <c>\</c> ST).</summary>
    public static bool IsAltCharacter(char c) => c is >= ' ' and <= '\u007f' and not ('[' or ']' or 'O' or 'P' or '\\');

    /// <summary>The key that ESC followed by <paramref name="c"/> stands for.</summary>
    public static Key KeyOf(char c) => c switch
    {
        '\u007f' => Key.Backspace.WithAlt,
        ' ' => Key.Space.WithAlt,
        _ => new Key(c).WithAlt,
    };

    /// <summary>A Terminal.Gui application whose ANSI input resolves Alt+key at once (see the remarks); a plain one, and
    /// false, when this Terminal.Gui build does not let the input be set up so.</summary>
    public static (IApplication App, bool Resolved) CreateApplication(ITimeProvider? time = null)
    {
        var app = Application.Create(time);
        var field = app.GetType().GetField("_componentFactory", BindingFlags.Instance | BindingFlags.NonPublic);
        if (field is null || !field.FieldType.IsAssignableFrom(typeof(Factory)))
        {
            return (app, false);
        }

        field.SetValue(app, new Factory());
        return (app, true);
    }

    /// <summary>The ANSI driver's parts, with <see cref="InputProcessor"/> reading the keys.</summary>
    private sealed class Factory : AnsiComponentFactory
    {
        public override IInputProcessor CreateInputProcessor(ConcurrentQueue<char> inputBuffer, ITimeProvider? timeProvider) =>
            new InputProcessor(inputBuffer, timeProvider);
    }

    /// <summary>The ANSI input, with ESC + key taken as Alt+key when both are in the queue (a terminal writes them
    /// together). A lone ESC, and every sequence, go to Terminal.Gui's parser as before.</summary>
    public sealed class InputProcessor(ConcurrentQueue<char> inputBuffer, ITimeProvider? timeProvider = null)
        : AnsiInputProcessor(inputBuffer, timeProvider)
    {
        protected override void Process(char input)
        {
            // Only the main loop takes from the queue: what it peeks is what it takes next.
            if (input == '\u001b' && GetParser().State == AnsiResponseParserState.Normal
                && InputQueue.TryPeek(out var next) && IsAltCharacter(next) && InputQueue.TryDequeue(out _))
            {
                RaiseKeyDownEvent(KeyOf(next));
                return;
            }

            base.Process(input);
        }
    }
}
