using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Mesh.Monitoring;
using Mesh.Monitoring.Influx;
using Mesh.Monitoring.StatusPage;
using Mesh.Monitoring.Watcher;
using Mesh.Peer.Configuration;
using Mesh.Peer.Logging;

namespace Mesh.Peer.Cli;

/// <summary><c>mesh monitor</c>: the server-side watcher. Follows the mesh in etcd, serves a status page, and
/// reports what it sees to InfluxDB when configured.</summary>
internal static class MonitorCommand
{
    public const string DefaultHttp = "127.0.0.1:8090";

    public static Command Create()
    {
        var http = new Option<string?>("--http") { Description = $"where the status page listens, host:port (env MESH_MONITOR_HTTP; default {DefaultHttp}, loopback only)" };
        var quota = new Option<string?>("--etcd-quota")
        {
            Description = "the backend quota etcd runs with (its --quota-backend-bytes; etcd does not tell it), like 2GiB or 8GiB (env MESH_ETCD_QUOTA_BYTES; default 2GiB, etcd's own default): the database is reported against it, with a warning at 80 %",
        };
        var keepFailed = new Option<string?>("--keep-failed")
        {
            Description = "how long a peer whose lease expired stays listed, greyed, with its cause, like 10m or 1h (env MESH_MONITOR_KEEP_FAILED; default 10m; 1s-7d)",
        };
        var allowHost = new Option<string[]>("--allow-host")
        {
            Description = "a Host name the status page also answers to, like mesh-status.example.org or 10.0.0.5 (repeatable; env MESH_MONITOR_ALLOW_HOSTS, comma-separated). "
                + "It answers to localhost, 127.0.0.0/8 and [::1] and, when --http names one, its non-loopback address; any other name gets 421 (a guard against DNS rebinding)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("monitor", "watch the whole mesh: peers, groups, links, etcd health; serve a status page") { http, quota, keepFailed, allowHost };
        InfluxOptions.AddTo(command);
        command.SetAction((result, ct) => Cli.Guard(async () =>
        {
            var options = CommonOptions.Resolve(result);
            var endpoint = ParseHttp(result.GetValue(http) ?? Environment.GetEnvironmentVariable("MESH_MONITOR_HTTP") ?? DefaultHttp);
            var hosts = ParseAllowedHosts(endpoint, result.GetValue(allowHost) is { Length: > 0 } given ? given
                : (Environment.GetEnvironmentVariable("MESH_MONITOR_ALLOW_HOSTS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            var influx = InfluxOptions.Resolve(result);
            var quotaBytes = (result.GetValue(quota) ?? Environment.GetEnvironmentVariable("MESH_ETCD_QUOTA_BYTES")) is { Length: > 0 } quotaText
                ? ByteSizes.Parse("--etcd-quota", quotaText, 1L << 20, 64L << 30)
                : MeshWatcher.DefaultQuotaBytes;
            using var logs = LineLoggerFactory.FromEnvironment();
            using var meter = new System.Diagnostics.Metrics.Meter(MetricNames.MeterName);
            ProcessInstruments.Register(meter);
            var keep = (result.GetValue(keepFailed) ?? Environment.GetEnvironmentVariable("MESH_MONITOR_KEEP_FAILED")) is { Length: > 0 } keepText
                ? Durations.Parse("--keep-failed", keepText, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7))
                : MeshView.DefaultKeepFailed;
            // A peer record counts only when signed by its peer: the monitor checks it as the peers do.
            var view = new MeshView(Groups.MemberSignature.IsValid, keepFailed: keep, influxConfigured: influx is not null);
            await using var reporting = MetricsReporting.Start(influx, [meter], [new("name", "monitor")], logs.CreateLogger("metrics"));
            if (reporting is not null)
            {
                reporting.Reporter.Outcome += failure =>
                {
                    if (failure is null)
                    {
                        view.Influx.Answered();
                    }
                    else
                    {
                        view.Influx.Failed(failure);
                    }
                };
            }

            // Events are kept in InfluxDB and the peers' own figures read from it, when there is one.
            await using var journal = reporting is null ? null : new EventJournal(influx!, reporting.Reporter, view, logs.CreateLogger("events"));
            await using var figures = influx is null ? null : new PeerFiguresReader(influx, view, logs.CreateLogger("figures"));
            journal?.Start();
            figures?.Start();
            await using var watcher = new MeshWatcher(options.Etcd, view, meter, logs.CreateLogger("watcher"), quotaBytes);
            StatusServer server;
            try
            {
                server = await StatusServer.StartAsync(endpoint, hosts, view, logs, ct);
            }
            catch (IOException e)
            {
                throw new MeshException($"--http {endpoint}: cannot listen there ({e.Message.ReplaceLineEndings(" ")})", 2);
            }

            await using (server)
            {
                watcher.Start();
                view.AddEvent($"monitor started, following etcd at {watcher.Describe}");
                Console.WriteLine($"mesh monitor: status page at {server.Address}"
                    + (hosts.Added.Count > 0 ? $" (also answering to {string.Join(", ", hosts.Added)})" : "") + $", following etcd at {watcher.Describe}"
                    + (influx is null ? "" : $", reporting to {influx.Describe} every {influx.Interval.TotalSeconds:0} s"));
                // Ctrl+C and SIGTERM end it cleanly (the status page stops, the last metrics are sent).
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
                using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }

            return 0;
        }));
        return command;
    }

    /// <summary>The Host names the page answers to: loopback ones, the --http address when it is a specific non-loopback
    /// one, and <paramref name="added"/> (--allow-host).</summary>
    public static AllowedHosts ParseAllowedHosts(IPEndPoint endpoint, IReadOnlyList<string> added)
    {
        if (added.FirstOrDefault(n => AllowedHosts.Normalize(n) is null) is { } name)
        {
            throw new MeshException($"--allow-host '{Naming.Printable(name)}': expected a host name or an IP address, like mesh-status.example.org or 10.0.0.5 (no scheme, no port)", 2);
        }

        return AllowedHosts.For(endpoint.Address, added);
    }

    /// <summary>host:port with an IP address or localhost; port 0 picks a free one.</summary>
    public static IPEndPoint ParseHttp(string value)
    {
        var text = value.Trim();
        if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            text = text["http://".Length..].TrimEnd('/');
        }

        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 0 or > 65535)
        {
            throw new MeshException($"--http '{Naming.Printable(value)}': expected host:port, like {DefaultHttp}", 2);
        }

        var host = text[..colon].Trim('[', ']');
        var address = host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var parsed) && parsed.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6 ? parsed
            : throw new MeshException($"--http '{Naming.Printable(value)}': the host must be an IP address or localhost", 2);
        return new IPEndPoint(address, port);
    }
}
