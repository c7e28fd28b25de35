using System.Text.Json;

namespace Mesh.Testing;

/// <summary>A real 3-node etcd cluster on loopback, whose leader or followers a test can kill and bring back.</summary>
public sealed class EtcdCluster : IDisposable
{
    private EtcdCluster(IReadOnlyList<EtcdProcess> members) => Members = members;

    public IReadOnlyList<EtcdProcess> Members { get; }

    /// <summary>Every client endpoint, comma-separated, as peers are given them.</summary>
    public string Endpoints => string.Join(",", Members.Select(m => m.Url));

    public static async Task<EtcdCluster> StartAsync(int size = 3)
    {
        var cluster = new EtcdCluster(EtcdProcess.Cluster(size));
        await Task.WhenAll(cluster.Members.Select(m => m.StartAsync()));
        return cluster;
    }

    /// <summary>The member that leads now, as the running members report it.</summary>
    public EtcdProcess Leader()
    {
        foreach (var member in Members.Where(m => m.Running))
        {
            var (code, output) = member.Etcdctl("endpoint", "status", "-w", "json");
            if (code != 0)
            {
                continue;
            }

            using var doc = JsonDocument.Parse(output);
            var status = doc.RootElement[0].GetProperty("Status");
            var self = status.GetProperty("header").GetProperty("member_id").GetUInt64();
            if (status.GetProperty("leader").GetUInt64() == self)
            {
                return member;
            }
        }

        throw new InvalidOperationException("no member reports itself leader");
    }

    public EtcdProcess AnyFollower()
    {
        var leader = Leader();
        return Members.First(m => m.Running && m != leader);
    }

    /// <summary>How many keys start with the prefix, asked of any running member.</summary>
    public long CountKeys(string prefix) =>
        Members.Where(m => m.Running).Select(m => m.CountKeys(prefix).Count).FirstOrDefault(c => c >= 0, -1);

    /// <summary>How many messages the history keys under the prefix hold, asked of any running member.</summary>
    public long CountMessages(string prefix) =>
        Members.Where(m => m.Running).Select(m => m.CountMessages(prefix)).FirstOrDefault(c => c >= 0, -1);

    public void Dispose()
    {
        foreach (var member in Members)
        {
            member.Dispose();
        }
    }
}
