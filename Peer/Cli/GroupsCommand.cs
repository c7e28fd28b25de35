using System.CommandLine;
using System.Text.Json;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Peer.Configuration;

namespace Mesh.Peer.Cli;

/// <summary><c>mesh groups</c> and <c>mesh members G</c>: what the directory in etcd says.</summary>
internal static class GroupsCommand
{
    public static Command CreateGroups()
    {
        var command = new Command("groups", "list the groups and how many members are online in each") { CommonOptions.Json };
        command.SetAction((result, ct) => Cli.Guard(async () =>
        {
            var options = CommonOptions.Resolve(result);
            using var etcd = new EtcdConnection(options.Etcd);
            await etcd.CheckReachableAsync(EtcdConnection.CallTimeout, ct);
            var groups = await new GroupDirectory(etcd).ListGroupsAsync(ct);
            foreach (var g in groups)
            {
                Console.WriteLine(result.GetValue(CommonOptions.Json)
                    ? JsonSerializer.Serialize(new Dictionary<string, object> { ["group"] = g.Group, ["members"] = g.Members })
                    : $"{TerminalText.OneLine(g.Group)}\t{g.Members} online");
            }

            return 0;
        }));
        return command;
    }

    public static Command CreateMembers()
    {
        var group = new Argument<string>("group") { Description = "the group" };
        var command = new Command("members", "list who is online in a group") { group, CommonOptions.Json };
        command.SetAction((result, ct) => Cli.Guard(async () =>
        {
            var options = CommonOptions.Resolve(result);
            var name = Naming.RequireGroup(result.GetValue(group));
            using var etcd = new EtcdConnection(options.Etcd);
            await etcd.CheckReachableAsync(EtcdConnection.CallTimeout, ct);
            var directory = new GroupDirectory(etcd);
            if (await directory.GetGroupAsync(name, ct) is null)
            {
                throw new MeshException($"no group '{name}' in etcd ({string.Join(",", options.Etcd)}): mesh groups lists them", 1);
            }

            var (members, _) = await directory.ListMembersAsync(name, ct);
            // Only records their peers signed: an etcd writer's forged or altered ones are not shown.
            foreach (var m in members.Where(m => Groups.MemberSignature.IsValid(m, name)).OrderBy(m => m.Name, StringComparer.Ordinal))
            {
                var fingerprint = Identity.PeerIdentity.FingerprintOf(Convert.FromBase64String(m.SigningKey));
                Console.WriteLine(result.GetValue(CommonOptions.Json)
                    ? JsonSerializer.Serialize(new Dictionary<string, string>
                    {
                        ["group"] = name,
                        ["name"] = m.Name,
                        ["peer"] = m.PeerId,
                        ["fingerprint"] = fingerprint,
                        ["endpoint"] = m.Endpoint,
                    })
                    : $"{TerminalText.OneLine(m.Name)}\t{fingerprint}\t{TerminalText.OneLine(m.Endpoint)}");
            }

            return 0;
        }));
        return command;
    }
}
