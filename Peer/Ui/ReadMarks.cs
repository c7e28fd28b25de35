using System.Text.Json;
using Mesh.Peer.Configuration;
using Mesh.Peer.Crypto;

namespace Mesh.Peer.Ui;

/// <summary>Where the chat screen keeps, per group, the key of the newest message the user has seen: after a restart
/// the read marker goes back above the first message after it, and the unread and mention counts are those of the
/// messages after it (those that came while Mesh was closed included).</summary>
public interface IReadMarks
{
    /// <summary>The marks kept, by group; empty when none were kept. Throws <see cref="MeshException"/> (one line)
    /// when what is kept cannot be read.</summary>
    IReadOnlyDictionary<string, string> Load();

    /// <summary>Replaces the marks kept with <paramref name="marks"/> (a whole, consistent set: never half written).</summary>
    void Save(IReadOnlyDictionary<string, string> marks);
}

/// <summary>The read marks in <c>HOME/read-marks.json</c>: mode 0600 (the group names are private), written
/// whole to a temporary file and renamed. A file that is too big, not JSON or holds entries that are not group names
/// and message keys is refused in one line; bad entries are never kept.</summary>
public sealed class ReadMarksFile(string home) : IReadMarks
{
    /// <summary>Far more than any user's groups need; what is bigger is not read.</summary>
    public const int MaxBytes = 256 * 1024;

    /// <summary>A message key is an order stamp, a sender, a run and a position: never longer than this.</summary>
    public const int MaxKeyLength = 200;

    public string Path { get; } = System.IO.Path.Combine(home, "read-marks.json");

    public IReadOnlyDictionary<string, string> Load()
    {
        string text;
        try
        {
            var info = new FileInfo(Path);
            if (!info.Exists)
            {
                return new Dictionary<string, string>();
            }

            if (info.Length > MaxBytes)
            {
                throw new MeshException($"{Path}: {info.Length:N0} bytes, more than read marks take ({MaxBytes:N0}); starting without them");
            }

            text = File.ReadAllText(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MeshException($"cannot read {Path}: {e.Message}; starting without read marks");
        }

        return Parse(text, Path);
    }

    /// <summary>The marks in <paramref name="text"/>: a JSON object of group name to message key.</summary>
    public static Dictionary<string, string> Parse(string text, string source)
    {
        var marks = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 4 });
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("groups", out var groups) || groups.ValueKind != JsonValueKind.Object)
            {
                throw new MeshException($"{source}: not read marks (no \"groups\" object); starting without them");
            }

            foreach (var group in groups.EnumerateObject())
            {
                if ((Naming.IsValidGroup(group.Name) || Session.DirectLabels.IsLabelForm(group.Name)) && group.Value.ValueKind == JsonValueKind.String
                    && group.Value.GetString() is { Length: > 0 and <= MaxKeyLength } key && key.All(c => c is > ' ' and < '\u007f'))
                {
                    marks[group.Name] = key;
                }
            }
        }
        catch (JsonException e)
        {
            throw new MeshException($"{source}: not JSON ({e.Message.Split('.')[0]}); starting without read marks");
        }

        return marks;
    }

    public void Save(IReadOnlyDictionary<string, string> marks)
    {
        var json = JsonSerializer.Serialize(new { version = 1, groups = marks });
        SecretFile.Write(Path, json);
    }
}

/// <summary>Read marks kept in memory: the twin of <see cref="ReadMarksFile"/> for tests.</summary>
public sealed class InMemoryReadMarks : IReadMarks
{
    private Dictionary<string, string> _marks = new(StringComparer.Ordinal);

    public int Saves { get; private set; }

    public IReadOnlyDictionary<string, string> Load() => new Dictionary<string, string>(_marks, StringComparer.Ordinal);

    public void Save(IReadOnlyDictionary<string, string> marks)
    {
        _marks = new Dictionary<string, string>(marks, StringComparer.Ordinal);
        Saves++;
    }
}

/// <summary>Saves read marks off the UI thread: the newest set waits in one slot, and one background task writes
/// it (a set handed over while a write runs replaces the one waiting). A failed write is said once per failure
/// streak, and tried again with the next set.</summary>
public sealed class ReadMarksSaver(IReadMarks store, Action<string> failed)
{
    private readonly object _gate = new();
    private IReadOnlyDictionary<string, string>? _waiting;
    private Task _writing = Task.CompletedTask;
    private bool _running;
    private bool _failing;

    /// <summary>Hands over the newest marks to be written (never waits).</summary>
    public void Offer(IReadOnlyDictionary<string, string> marks)
    {
        lock (_gate)
        {
            _waiting = marks;
            if (!_running)
            {
                _running = true;
                _writing = Task.Run(WriteWaiting);
            }
        }
    }

    /// <summary>Waits until what was offered is written (at exit).</summary>
    public async Task FlushAsync()
    {
        Task writing;
        lock (_gate)
        {
            writing = _writing;
        }

        await writing;
    }

    private void WriteWaiting()
    {
        while (true)
        {
            IReadOnlyDictionary<string, string>? marks;
            lock (_gate)
            {
                marks = _waiting;
                _waiting = null;
                if (marks is null)
                {
                    _running = false;
                    return;
                }
            }

            try
            {
                store.Save(marks);
                _failing = false;
            }
            catch (Exception e)
            {
                if (!_failing)
                {
                    _failing = true;
                    failed(e is MeshException ? e.Message : $"saving read marks failed: {e.Message}");
                }
            }
        }
    }
}
