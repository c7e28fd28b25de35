namespace Mesh.Testing;

/// <summary>A program running in a real terminal: a tmux session on a private server, driven with send-keys and
/// read with capture-pane.</summary>
public sealed class TmuxTerminal : IDisposable
{
    private readonly string _socket = $"mesh-test-{Guid.NewGuid():N}"[..20];

    private TmuxTerminal(string name) => Name = name;

    public string Name { get; }

    /// <summary>Starts <paramref name="args"/> in a new width x height terminal.</summary>
    public static TmuxTerminal Start(string name, IReadOnlyList<string> args, int width = 110, int height = 30)
    {
        var terminal = new TmuxTerminal(name);
        var command = string.Join(' ', args.Select(Quote));
        // The pane stays after the program exits, so a screen read after an early exit shows its last words.
        terminal.Tmux("new-session", "-d", "-s", "main", "-x", width.ToString(), "-y", height.ToString(), command,
            ";", "set-option", "-t", "main", "remain-on-exit", "on");
        return terminal;
    }

    private static string Quote(string arg) => "'" + arg.Replace("'", "'\\''") + "'";

    private string Tmux(params string[] args) => Tool.Run("tmux", ["-L", _socket, .. args]).Output;

    /// <summary>Types text literally, as a person would.</summary>
    public void Type(string text) => Tmux("send-keys", "-t", "main", "-l", text);

    /// <summary>Presses a key by tmux's name for it: Enter, C-c, M-2, PageUp…</summary>
    public void Press(string key) => Tmux("send-keys", "-t", "main", key);

    /// <summary>Sends keys and text in one go, with no delay between them, as one write to the program: each a key
    /// name (M-2, Enter) or, when it names no key, text typed as it is.</summary>
    public void Burst(params string[] keys) => Tmux(["send-keys", "-t", "main", .. keys]);

    /// <summary>Pastes text as a terminal does: bracketed (when the program asked for it) or as plain typed keys,
    /// line feeds turned into carriage returns either way, as tmux does by default.</summary>
    public void Paste(string text, bool bracketed)
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, text);
            Tmux("load-buffer", "-b", "paste", file);
            Tmux(bracketed ? ["paste-buffer", "-b", "paste", "-p", "-t", "main"] : ["paste-buffer", "-b", "paste", "-t", "main"]);
        }
        finally
        {
            File.Delete(file);
        }
    }

    public string Screen() => Tmux("capture-pane", "-t", "main", "-p");

    public async Task<string> WaitForScreenAsync(Func<string, bool> condition, TimeSpan timeout, string what)
    {
        var last = "";
        await Waiting.UntilAsync(() => condition(last = Screen()), timeout, $"{Name}'s screen to show {what}", () => "\n" + last);
        return last;
    }

    /// <summary>Whether the program in the terminal has exited.</summary>
    public bool Exited =>
        Tool.Run("tmux", ["-L", _socket, "display-message", "-p", "-t", "main", "#{pane_dead}"]) is var (code, output)
        && (code != 0 || output.Trim() == "1");

    public Task WaitForExitAsync(TimeSpan timeout) =>
        Waiting.UntilAsync(() => Exited, timeout, $"{Name}'s program to exit", () => "\n" + Screen());

    public void Dispose() => Tmux("kill-server");
}
