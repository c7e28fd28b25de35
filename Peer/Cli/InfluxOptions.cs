using System.CommandLine;
using Mesh.Monitoring.Influx;
using Mesh.Peer.Configuration;

namespace Mesh.Peer.Cli;

/// <summary>The flags that send metrics to InfluxDB (join and monitor).</summary>
internal static class InfluxOptions
{
    public static readonly Option<string?> Url = new("--influx")
    {
        Description = "InfluxDB 1.x URL to report metrics to, like http://127.0.0.1:8086 (env MESH_INFLUX; credentials from MESH_INFLUX_USER, MESH_INFLUX_PASSWORD)",
    };

    public static readonly Option<string?> Database = new("--influx-db")
    {
        Description = $"InfluxDB database, created when missing (env MESH_INFLUX_DB; default {InfluxSettings.DefaultDatabase})",
    };

    public static readonly Option<int?> Interval = new("--influx-interval")
    {
        Description = $"seconds between reports (env MESH_INFLUX_INTERVAL; default {InfluxSettings.DefaultInterval.TotalSeconds:0})",
    };

    public static void AddTo(Command command)
    {
        command.Options.Add(Url);
        command.Options.Add(Database);
        command.Options.Add(Interval);
    }

    public static InfluxSettings? Resolve(ParseResult result) =>
        InfluxAccess.From(result.GetValue(Url), result.GetValue(Database), result.GetValue(Interval));
}
