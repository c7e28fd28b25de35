using System.Net.Http.Headers;
using System.Text;

namespace Mesh.Monitoring.Influx;

/// <summary>Where and how often metrics go: an InfluxDB 1.x server, its database, and optional credentials.</summary>
public sealed record InfluxSettings(Uri Url, string Database, TimeSpan Interval)
{
    public const string DefaultDatabase = "mesh";
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    /// <summary>Points kept while InfluxDB does not take them; beyond this the oldest are dropped (and counted).</summary>
    public int BufferCapacity { get; init; } = 50_000;

    public string? User { get; init; }

    public string? Password { get; init; }

    /// <summary>Where points are written: <c>/write?db=…&amp;precision=ms</c>.</summary>
    public Uri WriteUrl => new(Url, $"write?db={Uri.EscapeDataString(Database)}&precision=ms");

    public Uri QueryUrl => new(Url, "query");

    /// <summary>A client for this server: <paramref name="timeout"/> on every request, the credentials when given.</summary>
    public HttpClient NewClient(TimeSpan timeout, HttpMessageHandler? handler = null)
    {
        var http = handler is null ? new HttpClient() : new HttpClient(handler);
        http.Timeout = timeout;
        if (User is { } user)
        {
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{Password}"));
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", basic);
        }

        return http;
    }

    /// <summary>The URL for messages: without credentials, ever.</summary>
    public string Describe => new UriBuilder(Url) { UserName = "", Password = "" }.Uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
}
