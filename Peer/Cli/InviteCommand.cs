using System.CommandLine;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Peer.Configuration;
using Mesh.Peer.Crypto;

namespace Mesh.Peer.Cli;

/// <summary><c>mesh invite G</c>: a single-use code that admits one peer to a group this home is a member of.</summary>
internal static class InviteCommand
{
    public static Command Create()
    {
        var group = new Argument<string>("group") { Description = "a group whose key this home holds" };
        var command = new Command("invite", "print a single-use invite code for a group (give it to the invitee out of band)") { group };
        command.SetAction((result, ct) => Cli.Guard(async () =>
        {
            var options = CommonOptions.Resolve(result);
            var name = Naming.RequireGroup(result.GetValue(group));
            var key = new GroupKeyring(options.Home).TryGet(name)
                ?? throw new MeshException($"no key for group '{name}' in {options.Home}: only members can invite");
            using var etcd = new EtcdConnection(options.Etcd);
            await etcd.CheckReachableAsync(EtcdConnection.CallTimeout, ct);
            var directory = new GroupDirectory(etcd);
            var record = await directory.GetGroupAsync(name, ct)
                ?? throw new MeshException($"group '{name}' does not exist in etcd at {etcd.Describe}");
            if (key.Check(name) != record.KeyCheck)
            {
                throw new MeshException($"the key held for '{name}' is not the group's key");
            }

            var invite = Invite.Create();
            await directory.CreateAsync(MeshKeys.Invite(name, invite.Id), invite.Seal(key, name), ct);
            Console.WriteLine(invite.Code);
            return 0;
        }));
        return command;
    }
}
