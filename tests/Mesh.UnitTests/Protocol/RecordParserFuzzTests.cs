using System.Text;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.Membership;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using NetMQ;

namespace Mesh.UnitTests.Protocol;

/// <summary>Every parser of what etcd holds takes mutated values without throwing or hanging.</summary>
[Category("Unit")]
public sealed class RecordParserFuzzTests
{
    private const int Mutations = 25_000;

    private static IEnumerable<byte[]> Mutate(byte[] valid, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < Mutations; i++)
        {
            var frame = (byte[])valid.Clone();
            switch (i % 3)
            {
                case 0:
                    frame[random.Next(frame.Length)] = (byte)random.Next(256);
                    break;
                case 1:
                    frame = frame[..random.Next(frame.Length)];
                    break;
                default:
                    frame = new byte[random.Next(0, 300)];
                    random.NextBytes(frame);
                    break;
            }

            yield return frame;
        }
    }

    [Test]
    public void Member_records()
    {
        var valid = new MemberRecord(new string('a', 32), "amy", new NetMQCertificate().PublicKeyZ85, Convert.ToBase64String(new byte[32]), "tcp://127.0.0.1:5000", 1).ToBytes();
        Assert.That(MemberRecord.TryParse(valid), Is.Not.Null);
        var rejected = Mutate(valid, 1).Count(m => MemberRecord.TryParse(m) is null);
        Assert.That(rejected, Is.GreaterThan(Mutations / 2));
    }

    [Test]
    public void Group_records()
    {
        var valid = new GroupRecord(1, "amy", GroupRecord.Open, "check").ToBytes();
        Assert.That(GroupRecord.TryParse(valid), Is.Not.Null);
        var rejected = Mutate(valid, 2).Count(m => GroupRecord.TryParse(m) is null);
        Assert.That(rejected, Is.GreaterThan(Mutations / 2));
    }

    [Test]
    public void Key_grants()
    {
        var recipient = new NetMQCertificate();
        using var key = GroupKey.Create();
        var valid = KeyWrap.Wrap(key, "g", "peer", recipient.PublicKey);
        Assert.That(KeyWrap.TryUnwrap(valid, "g", "peer", recipient.SecretKey!, recipient.PublicKey)!.Check("g", 1), Is.EqualTo(key.Check("g", 1)));
        Assert.That(KeyWrap.TryUnwrap(valid, "g", "other", recipient.SecretKey!, recipient.PublicKey), Is.Null, "bound to its recipient");
        var opened = Mutate(valid, 3).Count(m => KeyWrap.TryUnwrap(m, "g", "peer", recipient.SecretKey!, recipient.PublicKey) is not null);
        Assert.That(opened, Is.LessThan(Mutations / 100));
    }

    [Test]
    public void Invite_records_and_admission_requests()
    {
        using var inviter = Identities.New();
        using var invitee = Identities.New();
        using var invite = Invite.Create(new string('a', 64));
        var record = InviteRecord.Create("g", invite, 1000, inviter);
        Assert.That(InviteRecord.TryParse(record), Is.Not.Null);
        var request = AdmissionRequest.Create("g", invite, record, invitee, "ivy", 1);
        Assert.That(AdmissionRequest.TryParse(request, "g")?.PeerId, Is.EqualTo(invitee.PeerId));
        Assert.That(AdmissionRequest.TryParse(request, "h"), Is.Null, "bound to its group");
        Assert.That(Mutate(record, 4).Count(m => InviteRecord.TryParse(m) is { } r && r.ExpiresAtMs != 1000), Is.EqualTo(0), "the expiry is signed");
        Assert.That(Mutate(request, 5).Count(m => AdmissionRequest.TryParse(m, "g") is { } r && r.PeerId != invitee.PeerId), Is.EqualTo(0));
        Assert.That(Encoding.UTF8.GetString(request), Does.Not.Contain(Convert.ToBase64String(invite.Secret)));
    }

    [Test]
    public void Log_entries_and_grants()
    {
        using var creator = Identities.New();
        var genesis = GroupCommits.Genesis("g", LogEntry.Open, creator, "amy", 1).Record;
        Assert.That(GroupLog.TryStart("g", genesis, out _), Is.Not.Null);
        Assert.That(Mutate(genesis, 6).Count(m => GroupLog.TryStart("g", m, out _) is { } log && log.Policy != LogEntry.Open), Is.EqualTo(0), "the policy is signed");
        var recipient = new NetMQCertificate();
        using var key = GroupKey.Create();
        var grant = KeyGrant.Create(key, "g", 1, new string('b', 32), recipient.PublicKey, creator);
        Assert.That(KeyGrant.TryParse(grant), Is.Not.Null);
        Assert.That(Mutate(grant, 7).Count(m => KeyGrant.TryParse(m) is { } g && (g.Epoch != 1 || g.By != creator.PeerId)), Is.EqualTo(0));
    }
}
