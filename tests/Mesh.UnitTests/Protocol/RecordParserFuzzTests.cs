using System.Text;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.Membership;
using Mesh.Peer.Crypto;
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
        Assert.That(KeyWrap.TryUnwrap(valid, "g", "peer", recipient.SecretKey!, recipient.PublicKey)!.Check("g"), Is.EqualTo(key.Check("g")));
        Assert.That(KeyWrap.TryUnwrap(valid, "g", "other", recipient.SecretKey!, recipient.PublicKey), Is.Null, "bound to its recipient");
        var opened = Mutate(valid, 3).Count(m => KeyWrap.TryUnwrap(m, "g", "peer", recipient.SecretKey!, recipient.PublicKey) is not null);
        Assert.That(opened, Is.LessThan(Mutations / 100));
    }

    [Test]
    public void Invites()
    {
        var invite = Invite.Create();
        using var key = GroupKey.Create();
        var valid = invite.Seal(key, "g");
        Assert.That(Invite.Parse(invite.Code).TryOpen(valid, "g")!.Check("g"), Is.EqualTo(key.Check("g")));
        Assert.That(Invite.Create().TryOpen(valid, "g"), Is.Null, "another code opens nothing");
        var opened = Mutate(valid, 4).Count(m => invite.TryOpen(m, "g") is not null);
        Assert.That(opened, Is.LessThan(Mutations / 100));
        Assert.That(Encoding.UTF8.GetString(valid), Does.Not.Contain(Convert.ToBase64String(invite.Secret)));
    }
}
