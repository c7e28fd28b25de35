using System.Net;
using System.Text.Json;

namespace Mesh.Monitoring.Influx;

/// <summary>One series of an InfluxQL answer: its tags and its rows (time in Unix ms first, then the columns asked for).</summary>
public sealed record InfluxSeries(string Name, IReadOnlyDictionary<string, string> Tags, IReadOnlyList<string> Columns, IReadOnlyList<JsonElement[]> Rows)
{
    /// <summary>Where column <paramref name="name"/> is in each row, or -1.</summary>
    public int IndexOf(string name)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (Columns[i] == name)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The number in column <paramref name="name"/> of <paramref name="row"/> (null when absent or not a number).</summary>
    public double? Number(JsonElement[] row, string name) =>
        IndexOf(name) is var i and >= 0 && i < row.Length && row[i].ValueKind == JsonValueKind.Number ? row[i].GetDouble() : null;
}

/// <summary>InfluxDB did not answer a query, or refused it: the message says why in plain words.</summary>
public sealed class InfluxUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Reads from InfluxDB 1.x with InfluxQL (<c>/query</c>, times in ms). Answers are bounded: a server (or
/// whoever writes to it) cannot make the monitor hold more than <see cref="MaxAnswerBytes"/> for one query.</summary>
public sealed class InfluxQuery : IDisposable
{
    public const int MaxAnswerBytes = 4 * 1024 * 1024;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly InfluxSettings _settings;
    private readonly HttpClient _http;

    public InfluxQuery(InfluxSettings settings, HttpMessageHandler? handler = null)
    {
        _settings = settings;
        _http = settings.NewClient(Timeout, handler);
        _http.MaxResponseContentBufferSize = MaxAnswerBytes;
    }

    /// <summary>Runs <paramref name="query"/> against the configured database; a database not created yet answers nothing.</summary>
    public async Task<IReadOnlyList<InfluxSeries>> QueryAsync(string query, CancellationToken ct)
    {
        var url = new Uri(_settings.QueryUrl, $"?db={Uri.EscapeDataString(_settings.Database)}&epoch=ms&q={Uri.EscapeDataString(query)}");
        string body;
        HttpStatusCode status;
        try
        {
            using var response = await _http.GetAsync(url, ct);
            status = response.StatusCode;
            body = await response.Content.ReadAsStringAsync(ct);
        }
        catch (HttpRequestException e)
        {
            throw new InfluxUnavailableException(Coordinator.NetworkWords.Words(e), e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new InfluxUnavailableException($"no answer within {Timeout.TotalSeconds:0} s", e);
        }

        if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw new InfluxUnavailableException($"HTTP {(int)status}: InfluxDB refused the credentials");
        }

        try
        {
            return Parse(body);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new InfluxUnavailableException($"HTTP {(int)status}: an answer that is not InfluxDB's ({Coordinator.NetworkWords.OneLine(body)})", e);
        }
    }

    /// <summary>The series of an answer; a "database not found" error is an empty answer, any other error is thrown.</summary>
    public static IReadOnlyList<InfluxSeries> Parse(string body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (root.TryGetProperty("error", out var topError))
        {
            throw new InfluxUnavailableException("InfluxDB refused the query: " + Coordinator.NetworkWords.OneLine(topError.GetString() ?? ""));
        }

        var all = new List<InfluxSeries>();
        foreach (var result in root.GetProperty("results").EnumerateArray())
        {
            if (result.TryGetProperty("error", out var error))
            {
                var text = error.GetString() ?? "";
                if (text.StartsWith("database not found", StringComparison.Ordinal))
                {
                    continue;
                }

                throw new InfluxUnavailableException("InfluxDB refused the query: " + Coordinator.NetworkWords.OneLine(text));
            }

            if (!result.TryGetProperty("series", out var series))
            {
                continue;
            }

            foreach (var one in series.EnumerateArray())
            {
                var tags = new Dictionary<string, string>(StringComparer.Ordinal);
                if (one.TryGetProperty("tags", out var tagObject))
                {
                    foreach (var tag in tagObject.EnumerateObject())
                    {
                        tags[tag.Name] = tag.Value.GetString() ?? "";
                    }
                }

                var columns = one.GetProperty("columns").EnumerateArray().Select(c => c.GetString() ?? "").ToList();
                var rows = one.TryGetProperty("values", out var values)
                    ? values.EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.Clone()).ToArray()).ToList()
                    : [];
                all.Add(new InfluxSeries(one.TryGetProperty("name", out var name) ? name.GetString() ?? "" : "", tags, columns, rows));
            }
        }

        return all;
    }

    public void Dispose() => _http.Dispose();
}
