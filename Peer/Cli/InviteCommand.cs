using System.CommandLine;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Peer.Configuration;
using Mesh.Peer.Groups;
using Mesh.Peer.Identity;

namespace Mesh.Peer.Cli;

/// <summary><c>mesh invite G [--ttl 24h]</c>: a single-use code that lets one peer be admitted to a group this home is
/// a member of. The code carries the group's genesis hash (the invitee pins it) and a secret; etcd gets a signed,
/// leased record that expires with the invite and holds no key.</summary>
internal static class InviteCommand
{
    public static Command Create()
    {
        var group = new Argument<string>("group") { Description = "a group this home is a member of" };
        var ttl = new Option<string>("--ttl") { Description = "how long the invite may be used: 90s, 30m, 24h, 7d (default 24h, at most 30d)", DefaultValueFactory = _ => "24h" };
        var command = new Command("invite", "print a single-use invite code for a group (give it to the invitee out of band)") { group, ttl };
        command.SetAction((result, ct) => Cli.Guard(async () =>
        {
            var options = CommonOptions.Resolve(result);
            var name = Naming.RequireGroup(result.GetValue(group));
            var lifetime = InviteIssuer.ParseLifetime(result.GetValue(ttl)!);
            var log = new GroupLogCopy(options.Home).Load(name)
                ?? throw new MeshException($"'{name}' is not a group of {options.Home}: only its members can invite (join it first)");
            using var identity = IdentityStore.LoadOrCreate(options.Home);
            using var etcd = new EtcdConnection(options.Etcd);
            await etcd.CheckReachableAsync(EtcdConnection.CallTimeout, ct);
            var store = new GroupLogStore(etcd);
            var (genesis, entries, _) = await store.ReadAsync(name, ct);
            var merged = GroupLogSync.Merge(name, log, genesis, entries);
            foreach (var error in merged.Errors)
            {
                Console.Error.WriteLine($"mesh: {TerminalText.OneLine(error)}");
            }

            InviteIssuer.RequireMember(merged.Log!, identity.PeerId);
            var issued = await new InviteIssuer(store, identity, TimeProvider.System).IssueAsync(name, merged.Log!.GenesisHash, lifetime, ct);
            Console.WriteLine(issued.Code);
            Console.Error.WriteLine($"mesh: single use, valid until {issued.ExpiresAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC; the invitee types /accept CODE in the chat, or joins with the code in MESH_INVITE or --invite-file");
            return 0;
        }));
        return command;
    }
}
