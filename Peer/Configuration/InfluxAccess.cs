using System.Globalization;
using System.Text.RegularExpressions;
using Mesh.Monitoring.Influx;

namespace Mesh.Peer.Configuration;

/// <summary>Validates where metrics go: <c>--influx</c> / <c>MESH_INFLUX</c> and their companions.</summary>
public static partial class InfluxAccess
{
    /// <summary>Settings from flags, falling back to MESH_INFLUX, MESH_INFLUX_DB, MESH_INFLUX_INTERVAL,
    /// MESH_INFLUX_USER and MESH_INFLUX_PASSWORD; null when no InfluxDB is configured.</summary>
    public static InfluxSettings? From(string? url, string? database, int? intervalSeconds)
    {
        url ??= Environment.GetEnvironmentVariable("MESH_INFLUX");
        if (string.IsNullOrWhiteSpace(url))
        {
            return null;
        }

        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
        {
            throw new MeshException($"--influx: '{Naming.Printable(Redact(url))}' is not an InfluxDB URL like http://127.0.0.1:8086", 2);
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new MeshException("--influx: put no credentials in the URL; set MESH_INFLUX_USER and MESH_INFLUX_PASSWORD", 2);
        }

        database ??= Environment.GetEnvironmentVariable("MESH_INFLUX_DB");
        database = string.IsNullOrWhiteSpace(database) ? InfluxSettings.DefaultDatabase : database.Trim();
        if (!DatabaseRule().IsMatch(database))
        {
            throw new MeshException($"--influx-db '{Naming.Printable(database)}': 1-64 letters, digits, '_' or '-'", 2);
        }

        var interval = (int)InfluxSettings.DefaultInterval.TotalSeconds;
        var source = "--influx-interval";
        if (intervalSeconds is { } flag)
        {
            interval = flag;
        }
        else if (Environment.GetEnvironmentVariable("MESH_INFLUX_INTERVAL") is { Length: > 0 } text)
        {
            source = "MESH_INFLUX_INTERVAL";
            if (!int.TryParse(text, CultureInfo.InvariantCulture, out interval))
            {
                throw new MeshException($"MESH_INFLUX_INTERVAL '{Naming.Printable(text)}': must be a whole number of seconds from 1 to 3600", 2);
            }
        }

        if (interval is < 1 or > 3600)
        {
            throw new MeshException($"{source} {interval}: must be from 1 to 3600 seconds", 2);
        }

        var user = Environment.GetEnvironmentVariable("MESH_INFLUX_USER");
        var baseUrl = new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/");
        return new InfluxSettings(baseUrl, database, TimeSpan.FromSeconds(interval))
        {
            User = string.IsNullOrEmpty(user) ? null : user,
            Password = Environment.GetEnvironmentVariable("MESH_INFLUX_PASSWORD"),
        };
    }

    private static string Redact(string url) => UserInfo().Replace(url, "//");

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex DatabaseRule();

    [GeneratedRegex("//[^/@]*@")]
    private static partial Regex UserInfo();
}
