using System.CommandLine;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Peer.Configuration;

namespace Mesh.Peer.Cli;

/// <summary>The <c>mesh</c> command line: parsing, and the rule that every failure is one line on stderr.</summary>
public static class Cli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Mesh: end-to-end encrypted group chat over a brokerless peer mesh")
        {
            JoinCommand.Create(),
            HistoryCommand.Create(),
            GroupsCommand.CreateGroups(),
            GroupsCommand.CreateMembers(),
            InviteCommand.Create(),
            MonitorCommand.Create(),
        };
        root.Options.Add(CommonOptions.Etcd);
        root.Options.Add(CommonOptions.Home);
        root.Options.Add(CommonOptions.EtcdCaCert);
        root.Options.Add(CommonOptions.EtcdCert);
        root.Options.Add(CommonOptions.EtcdKey);
        root.Options.Add(CommonOptions.EtcdUser);
        root.Options.Add(CommonOptions.EtcdPasswordFile);
        root.Options.Add(CommonOptions.EtcdInsecurePassword);
        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0)
        {
            await Console.Error.WriteLineAsync("mesh: no command given: use join, history, groups, members, invite or monitor (see mesh --help)");
            return 2;
        }

        var result = Build().Parse(args);
        if (result.Errors.Count > 0)
        {
            // One line naming what was wrong; --help lists what is right.
            await Console.Error.WriteLineAsync($"mesh: {string.Join("; ", result.Errors.Select(e => e.Message))} (see mesh --help)");
            return 2;
        }

        // An option the command does not have, where an argument may stand (after a group name), would be taken for
        // one: it is named as what it is. No group or name starts with '-'.
        if (UnknownOption(result) is { } unknown)
        {
            await Console.Error.WriteLineAsync($"mesh: unknown option '{TerminalText.OneLine(unknown)}' for '{result.CommandResult.Command.Name}' (see mesh {result.CommandResult.Command.Name} --help)");
            return 2;
        }

        // Ctrl+C is ours: a peer leaves its groups cleanly instead of being terminated after a grace period.
        return await result.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    private static string? UnknownOption(ParseResult result) =>
        result.CommandResult.Children.OfType<System.CommandLine.Parsing.ArgumentResult>()
            .SelectMany(a => a.Tokens).Select(t => t.Value).FirstOrDefault(v => v.Length > 1 && v[0] == '-');

    /// <summary>Runs a command body; turns expected failures into one line on stderr and an exit code.</summary>
    internal static async Task<int> Guard(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (MeshException e)
        {
            await Console.Error.WriteLineAsync($"mesh: {TerminalText.OneLine(e.Message)}");
            return e.ExitCode;
        }
        catch (EtcdUnavailableException e)
        {
            await Console.Error.WriteLineAsync($"mesh: {TerminalText.OneLine(e.Message)}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            return 130;
        }
        catch (Exception e)
        {
            await Console.Error.WriteLineAsync($"mesh: unexpected error: {e.GetType().Name}: {TerminalText.OneLine(e.Message)}");
            return 1;
        }
    }
}
