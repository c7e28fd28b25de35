using System.CommandLine;
using Mesh.Coordinator.Etcd;
using Mesh.Monitoring;
using Mesh.Monitoring.Influx;
using Mesh.Peer.Configuration;
using Mesh.Peer.Headless;
using Mesh.Peer.Identity;
using Mesh.Peer.Logging;
using Mesh.Peer.Session;
using Mesh.Peer.Ui;

namespace Mesh.Peer.Cli;

/// <summary><c>mesh join G [G…] --name N</c>: run a peer in one or more groups.</summary>
internal static class JoinCommand
{
    public static Command Create()
    {
        var groups = new Argument<string[]>("group") { Description = "groups to join; the first is where typed lines go", Arity = ArgumentArity.OneOrMore };
        var name = new Option<string?>("--name") { Description = $"your name in the chat (env MESH_NAME): {Naming.NameRule}" };
        var headless = new Option<bool>("--headless") { Description = "no chat screen: read lines from stdin, write JSON events to stdout (for scripts and bots)" };
        var bind = new Option<string?>("--bind") { Description = $"where this peer publishes (default {MeshOptions.DefaultBind}: loopback, free port)" };
        var advertise = new Option<string?>("--advertise") { Description = "the endpoint other peers connect to (default: the bound one)" };
        var leaseTtl = new Option<int?>("--lease-ttl") { Description = "presence lease TTL in seconds (default 5): how soon others notice a crashed peer" };
        var isPrivate = new Option<bool>("--private") { Description = "create the groups as private: members join only with an invite (mesh invite G)" };
        var inviteFile = new Option<string?>("--invite-file") { Description = "a file holding an invite code from 'mesh invite G' ('-': the first line of stdin); or set MESH_INVITE" };
        // Codes on the command line show in ps and shell history: the flag is refused with the ways that are safe.
        var invite = new Option<string?>("--invite") { Description = "refused: pass the code in MESH_INVITE or --invite-file", Hidden = true };
        var recreate = new Option<bool>("--recreate")
        {
            Description = "create a group afresh that etcd no longer has although this home was in it (its old keys and copies are moved to HOME/replaced/, not deleted)",
        };
        var keep = new Option<string?>("--keep")
        {
            Description = $"how much history a group created now keeps: {Groups.Retention.Rule} (default {Groups.Retention.Default}: {Groups.Retention.Default.Describe()})",
        };
        var direct = new Option<string[]>("--dm")
        {
            Description = "open the direct conversation with a member of a group joined (NAME, or its peer id), as /msg NAME does; shown as @NAME; repeatable",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("join", "join groups and chat") { groups, name, headless, bind, advertise, leaseTtl, isPrivate, keep, inviteFile, invite, recreate, direct };
        InfluxOptions.AddTo(command);
        command.SetAction((result, ct) => Cli.Guard(async () =>
        {
            if (result.GetResult(invite) is not null)
            {
                throw new MeshException("--invite: invite codes are not taken on the command line (ps and shell history would show them): put the code in MESH_INVITE, or in a file given to --invite-file ('-' reads it from stdin)", 2);
            }

            var options = CommonOptions.Resolve(result, result.GetValue(name), result.GetValue(bind), result.GetValue(advertise), result.GetValue(leaseTtl));
            var groupNames = result.GetValue(groups)!.Select(Naming.RequireGroup).Distinct(StringComparer.Ordinal).ToList();
            var peerName = options.Name ?? throw new MeshException("--name is required (or set MESH_NAME)", 2);
            var influx = InfluxOptions.Resolve(result);
            var tui = !result.GetValue(headless);
            var admitWait = Environment.GetEnvironmentVariable("MESH_ADMIT_WAIT") is { Length: > 0 } waitText
                ? Durations.Parse("MESH_ADMIT_WAIT", waitText, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1))
                : HeadlessRunner.DefaultAdmitWait;
            Groups.Retention? retention = null;
            if (result.GetValue(keep) is { } keepText)
            {
                retention = Groups.Retention.TryParse(keepText, out var keepError) ?? throw new MeshException($"--keep: {keepError}", 2);
            }

            if (tui && (Console.IsOutputRedirected || Console.IsInputRedirected))
            {
                throw new MeshException("no terminal for the chat screen: run it in a terminal, or add --headless for JSON lines", 2);
            }

            var code = InviteSource.Read(result.GetValue(inviteFile), tui);
            if (code is not null)
            {
                using var parsed = Groups.Invite.Parse(code, InviteSource.Describe(result.GetValue(inviteFile)));
                if (parsed.Group is { } named && !groupNames.Contains(named))
                {
                    throw new MeshException($"{InviteSource.Describe(result.GetValue(inviteFile))}: the invite code is for group '{named}', which is not among the groups to join (mesh join {named})", 2);
                }
            }

            IdentityStore.EnsureHome(options.Home);
            using var homeLock = await HomeLock.AcquireAsync(options.Home, options.HomeWait, Console.Error.WriteLine, ct: ct);
            var identity = IdentityStore.LoadOrCreate(options.Home);
            using var logs = tui ? LineLoggerFactory.ToFile(Path.Combine(options.Home, "mesh.log")) : LineLoggerFactory.FromEnvironment();
            using var etcd = new EtcdConnection(options.Etcd);
            using var instruments = new MeshInstruments();
            await using var reporting = MetricsReporting.Start(influx, [instruments.Meter],
                [new("peer", identity.PeerId), new("name", peerName)], logs.CreateLogger("metrics"));
            var session = new ChatSession(options, identity, peerName, etcd, logs, instruments);
            session.OpenDirectAtStart(result.GetValue(direct) ?? []);

            var request = new JoinRequest(result.GetValue(isPrivate), code, result.GetValue(recreate), retention);
            return tui
                ? await TuiRunner.RunAsync(session, groupNames, request, peerName, identity.Fingerprint, options.Home, ct)
                : await HeadlessRunner.RunAsync(session, groupNames, request, options.Home, logs.CreateLogger("stdout"), ct, admitWait);
        }));
        return command;
    }
}
