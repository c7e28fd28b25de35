using System.Net;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mesh.Monitoring.Watcher;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Monitoring.StatusPage;

/// <summary>The status page of mesh monitor: one HTML page, its scripts (bundled into this assembly at build
/// time, never fetched from elsewhere) and <c>/api/state</c>, the JSON the page polls every second; all answered only
/// to the <c>Host</c> names of <see cref="AllowedHosts"/>.</summary>
public sealed class StatusServer : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    private static readonly (string Path, string Resource, string ContentType)[] Assets =
    [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/app.js", "app.js", "text/javascript; charset=utf-8"),
        ("/app.css", "app.css", "text/css; charset=utf-8"),
        ("/uplot.js", "uplot.js", "text/javascript; charset=utf-8"),
        ("/uplot.css", "uplot.css", "text/css; charset=utf-8"),
    ];

    private readonly WebApplication _app;

    private StatusServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>Where the page is served.</summary>
    public Uri Address { get; }

    /// <summary>Starts serving on <paramref name="endpoint"/> (host:port; port 0 picks a free one), to requests whose
    /// <c>Host</c> is one of <paramref name="hosts"/>; any other gets 421 and one line.</summary>
    public static async Task<StatusServer> StartAsync(IPEndPoint endpoint, AllowedHosts hosts, MeshView view, ILoggerFactory logs, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(endpoint));
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            // First of all: a page that answered any name could be read by any web site through DNS rebinding.
            if (!hosts.Allows(context.Request.Headers.Host.ToString()))
            {
                context.Response.StatusCode = StatusCodes.Status421MisdirectedRequest;
                context.Response.ContentType = "text/plain; charset=utf-8";
                context.Response.Headers.CacheControl = "no-store";
                await context.Response.WriteAsync(AllowedHosts.Refusal);
                return;
            }

            await next(context);
        });
        var assembly = typeof(StatusServer).Assembly;
        foreach (var (path, resource, contentType) in Assets)
        {
            var bytes = ReadResource(assembly, resource);
            app.MapGet(path, (HttpContext context) =>
            {
                context.Response.Headers.CacheControl = "no-cache";
                return Results.Bytes(path == "/" ? WithState(bytes, view.Snapshot()) : bytes, contentType);
            });
        }

        app.MapGet("/api/state", () => Results.Json(view.Snapshot(), Json));
        app.Use(async (context, next) =>
        {
            // Nothing on this page comes from elsewhere, and it is not to be framed.
            context.Response.Headers.ContentSecurityPolicy = "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
            context.Response.Headers.XContentTypeOptions = "nosniff";
            await next(context);
        });
        await app.StartAsync(ct);
        var bound = app.Urls.Select(u => new Uri(u)).First();
        logs.CreateLogger("status").LogInformation("status page at {Url}", bound);
        return new StatusServer(app, bound);
    }

    private const string StateMark = "<script src=\"/uplot.js\"></script>";

    /// <summary>The page with the state of this moment in it, as data the page renders before its first fetch: its
    /// first paint shows the mesh, not dashes. The serializer escapes &lt; &gt; and &amp;, so no name from etcd can
    /// close the element.</summary>
    public static byte[] WithState(byte[] page, MeshSnapshot state)
    {
        var html = System.Text.Encoding.UTF8.GetString(page);
        var data = "<script id=\"initial-state\" type=\"application/json\">" + JsonSerializer.Serialize(state, Json) + "</script>\n  ";
        var at = html.IndexOf(StateMark, StringComparison.Ordinal);
        return System.Text.Encoding.UTF8.GetBytes(at < 0 ? html : html.Insert(at, data));
    }

    private static byte[] ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream("StatusPage." + name)
            ?? throw new InvalidOperationException($"the status page asset {name} is missing from the build");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(deadline.Token);
        await _app.DisposeAsync();
    }
}
