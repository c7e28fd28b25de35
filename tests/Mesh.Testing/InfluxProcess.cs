using System.Diagnostics;
using System.Text.Json;

namespace Mesh.Testing;

/// <summary>A real InfluxDB 1.x (Debian's influxdb) on free loopback ports with a temporary data directory,
/// usage reporting off.</summary>
public sealed class InfluxProcess : IDisposable
{
    private readonly string _dir;
    private readonly int _rpcPort;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private Process? _process;

    private InfluxProcess()
    {
        HttpPort = FreePort.Next();
        _rpcPort = FreePort.Next();
        _dir = Path.Combine(Path.GetTempPath(), $"mesh-influx-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
        LogPath = Path.Combine(_dir, "influxd.log");
        File.WriteAllText(ConfigPath, $"""
            reporting-disabled = true
            bind-address = "127.0.0.1:{_rpcPort}"

            [meta]
              dir = "{_dir}/meta"

            [data]
              dir = "{_dir}/data"
              wal-dir = "{_dir}/wal"
              query-log-enabled = false

            [http]
              enabled = true
              bind-address = "127.0.0.1:{HttpPort}"
              log-enabled = false

            [monitor]
              store-enabled = false

            [continuous_queries]
              enabled = false

            [subscriber]
              enabled = false
            """);
    }

    public int HttpPort { get; }

    public string Url => $"http://127.0.0.1:{HttpPort}";

    public string LogPath { get; }

    private string ConfigPath => Path.Combine(_dir, "influxdb.conf");

    public static async Task<InfluxProcess> StartNewAsync()
    {
        var influx = new InfluxProcess();
        await influx.StartAsync();
        return influx;
    }

    /// <summary>Starts (or restarts, with the same data) the server and waits until it answers /ping.</summary>
    public async Task StartAsync()
    {
        var info = new ProcessStartInfo("influxd");
        info.ArgumentList.Add("run");
        info.ArgumentList.Add("-config");
        info.ArgumentList.Add(ConfigPath);
        _process = ServerProcess.Start(info, LogPath);
        await Waiting.UntilAsync(PingAsync, TimeSpan.FromSeconds(60), $"influxd on {Url}",
            () => _process.HasExited ? $"influxd exited {_process.ExitCode}; see {LogPath}" : "no answer to /ping");
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var response = await _http.GetAsync($"{Url}/ping");
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>Runs an InfluxQL query (GET /query) and returns the parsed answer.</summary>
    public async Task<JsonElement> QueryAsync(string database, string query)
    {
        var url = $"{Url}/query?db={Uri.EscapeDataString(database)}&epoch=ms&q={Uri.EscapeDataString(query)}";
        using var response = await _http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"InfluxDB answered {(int)response.StatusCode} to {query}: {body}");
        }

        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>The rows of the first statement's series, each as its column values (time first); empty when none,
    /// also while the database does not exist yet.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Tags, IReadOnlyList<JsonElement[]> Rows)>> SeriesAsync(string database, string query)
    {
        var answer = await QueryAsync(database, query);
        var result = answer.GetProperty("results")[0];
        if (result.TryGetProperty("error", out var error))
        {
            if (error.GetString() is { } message && message.StartsWith("database not found", StringComparison.Ordinal))
            {
                // Reporters create their database with their first report: until then it has no series.
                return [];
            }

            throw new InvalidOperationException($"InfluxDB: {error.GetString()} in {query}");
        }

        if (!result.TryGetProperty("series", out var series))
        {
            return [];
        }

        return series.EnumerateArray().Select(s => (
            (IReadOnlyDictionary<string, string>)(s.TryGetProperty("tags", out var tags)
                ? tags.EnumerateObject().ToDictionary(t => t.Name, t => t.Value.GetString() ?? "")
                : new Dictionary<string, string>()),
            (IReadOnlyList<JsonElement[]>)s.GetProperty("values").EnumerateArray().Select(v => v.EnumerateArray().ToArray()).ToList())).ToList();
    }

    /// <summary>Kills the server (SIGKILL); <see cref="StartAsync()"/> brings it back with its data.</summary>
    public void Kill() => ServerProcess.Kill(_process);

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
        _http.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
