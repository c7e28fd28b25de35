using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Identity;
using Mesh.UnitTests.Protocol;

namespace Mesh.UnitTests.Groups;

[Category("Unit")]
public sealed class GroupLogTests
{
    private PeerIdentity _creator = null!;
    private PeerIdentity _bo = null!;
    private PeerIdentity _cy = null!;
    private PeerIdentity _outsider = null!;

    [SetUp]
    public void Identities_()
    {
        _creator = Identities.New();
        _bo = Identities.New();
        _cy = Identities.New();
        _outsider = Identities.New();
    }

    [TearDown]
    public void Dispose()
    {
        foreach (var i in new[] { _creator, _bo, _cy, _outsider })
        {
            i.Dispose();
        }
    }


    private (GroupLog Log, Dictionary<long, GroupKey> Keys) Started(string policy = LogEntry.Open)
    {
        var genesis = GroupCommits.Genesis("g", policy, _creator, "amy", 1000);
        var log = GroupLog.TryStart("g", genesis.Record, out var error) ?? throw new AssertionException(error);
        return (log, new Dictionary<long, GroupKey> { [1] = genesis.NewKey! });
    }

    private static void Apply(GroupLog log, GroupCommits.Commit commit)
    {
        Assert.That(log.TryApply(commit.Record, out var error), Is.True, error);
    }

    [Test]
    public void A_genesis_makes_its_creator_the_only_member_of_epoch_1()
    {
        var (log, keys) = Started();
        Assert.That(log.Members.Keys, Is.EqualTo(new[] { _creator.PeerId }));
        Assert.That(log.CurrentEpoch.Number, Is.EqualTo(1));
        Assert.That(log.CurrentEpoch.KeyCheck, Is.EqualTo(keys[1].Check("g", 1)));
        Assert.That(GroupLog.TryStart("other", log.RecordAt(0), out _), Is.Null, "bound to its group");
    }

    [Test]
    public void A_member_adds_and_the_newcomer_gets_a_grant_of_every_epoch()
    {
        var (log, keys) = Started();
        Apply(log, GroupCommits.Add(log, _creator, Joiners.Of(_bo, "bo", log), keys, 2000));
        var rotation = GroupCommits.Rotate(log, _creator, null, 3000);
        Apply(log, rotation);
        keys[2] = rotation.NewKey!;
        var add = GroupCommits.Add(log, _bo, Joiners.Of(_cy, "cy", log), keys, 4000);
        Apply(log, add);
        Assert.That(add.Grants, Has.Count.EqualTo(2));
        foreach (var (_, value) in add.Grants)
        {
            var grant = KeyGrant.TryParse(value)!;
            var key = GroupCommits.Accept(log, grant, _cy, out var error);
            Assert.That(key?.Check("g", grant.Epoch), Is.EqualTo(keys[grant.Epoch].Check("g", grant.Epoch)), error);
        }
    }

    [Test]
    public void An_outsider_cannot_sign_an_entry_and_no_entry_is_taken_twice_or_out_of_place()
    {
        var (log, keys) = Started();
        var forged = GroupCommits.Add(log, _outsider, Joiners.Of(_outsider, "eve", log), keys, 2000);
        Assert.That(log.TryApply(forged.Record, out var why), Is.False);
        Assert.That(why, Does.Contain("not a member"));

        var add = GroupCommits.Add(log, _creator, Joiners.Of(_bo, "bo", log), keys, 2000);
        Apply(log, add);
        Assert.That(log.TryApply(add.Record, out why), Is.False, "replayed");
        Assert.That(why, Does.Contain("index"));
        var skipped = GroupCommits.Add(log, _creator, Joiners.Of(_cy, "cy", log), keys, 3000).Record;
        Apply(log, GroupCommits.Leave(log, _bo, 2500));
        Assert.That(log.TryApply(skipped, out why), Is.False, "built on an older head");
    }

    [Test]
    public void A_rewritten_entry_fails_its_signature()
    {
        var (log, keys) = Started(LogEntry.Private);
        var text = System.Text.Encoding.UTF8.GetString(log.RecordAt(0)).Replace("private", "open");
        Assert.That(GroupLog.TryStart("g", System.Text.Encoding.UTF8.GetBytes(text), out var why), Is.Null);
        Assert.That(why, Is.EqualTo("bad signature"));
    }

    [Test]
    public void A_private_group_admits_only_with_an_unused_invite()
    {
        var (log, keys) = Started(LogEntry.Private);
        Assert.That(log.TryApply(GroupCommits.Add(log, _creator, Joiners.Of(_bo, "bo", log), keys, 2000).Record, out _), Is.False);
        Apply(log, GroupCommits.Add(log, _creator, Joiners.Of(_bo, "bo", log, "invite-1"), keys, 2000));
        Assert.That(log.TryApply(GroupCommits.Add(log, _creator, Joiners.Of(_cy, "cy", log, "invite-1"), keys, 3000).Record, out var why), Is.False);
        Assert.That(why, Does.Contain("unused invite"));
    }

    [Test]
    public void Only_the_creator_or_an_admin_removes_and_a_removal_starts_an_epoch_without_the_removed()
    {
        var (log, keys) = Started();
        Apply(log, GroupCommits.Add(log, _creator, Joiners.Of(_bo, "bo", log), keys, 2000));
        Apply(log, GroupCommits.Add(log, _creator, Joiners.Of(_cy, "cy", log), keys, 3000));
        Assert.That(log.TryApply(GroupCommits.Rotate(log, _bo, _cy.PeerId, 4000).Record, out var why), Is.False);
        Assert.That(why, Does.Contain("creator or an admin"));

        Apply(log, GroupCommits.Admin(log, _creator, _bo.PeerId, 4000));
        var removal = GroupCommits.Rotate(log, _bo, _cy.PeerId, 5000);
        Apply(log, removal);
        Assert.That(log.Members.ContainsKey(_cy.PeerId), Is.False);
        Assert.That(log.WasRemoved(_cy.PeerId), Is.True);
        Assert.That(log.CurrentEpoch.Number, Is.EqualTo(2));
        Assert.That(removal.Grants.Select(g => KeyGrant.TryParse(g.Value)!.To), Is.EquivalentTo(new[] { _creator.PeerId, _bo.PeerId }));
        Assert.That(log.TryApply(GroupCommits.Rotate(log, _bo, _creator.PeerId, 6000).Record, out _), Is.False, "the creator stays");
    }

    [Test]
    public void Who_moderates_is_judged_at_the_log_head_a_message_was_sealed_at()
    {
        var (log, keys) = Started();
        Apply(log, GroupCommits.Add(log, _creator, Joiners.Of(_bo, "bo", log), keys, 2000));
        var beforeAdmin = log.Head;
        Apply(log, GroupCommits.Admin(log, _creator, _bo.PeerId, 3000));
        var asAdmin = log.Head;
        Apply(log, GroupCommits.Leave(log, _bo, 4000));

        Assert.That(log.MayModerateAt(_creator.PeerId, 0), Is.True);
        Assert.That(log.MayModerateAt(_bo.PeerId, beforeAdmin), Is.False, "not an admin yet when he sealed it");
        Assert.That(log.MayModerateAt(_bo.PeerId, asAdmin), Is.True, "an admin then, though he has left since");
        Assert.That(log.MayModerateAt(_bo.PeerId, log.Head), Is.False, "gone by then");
        Assert.That(log.MayModerateAt(_cy.PeerId, asAdmin), Is.False, "never a member");
    }

    [Test]
    public void A_leave_asks_for_a_rotation_and_the_departed_may_seal_nothing_beyond_its_cut_whatever_its_stamps()
    {
        var (log, keys) = Started();
        Apply(log, GroupCommits.Add(log, _creator, Joiners.Of(_bo, "bo", log), keys, 2000));
        Assert.That(log.MaySeal(_bo.PeerId, _bo.SigningPublicKey, 1, 1, 2100, 7, 1), Is.True);
        Apply(log, GroupCommits.Leave(log, _bo, 3000, [(5, 40), (7, 3)]));
        Assert.That(log.RotationNeeded, Is.True);
        Assert.That(log.MaySeal(_bo.PeerId, _bo.SigningPublicKey, 1, 1, 2900, 7, 3), Is.True, "sent before it left");
        Assert.That(log.MaySeal(_bo.PeerId, _bo.SigningPublicKey, 1, 1, 1_000_000_000, 5, 40), Is.True, "kept whatever its clock said");
        Assert.That(log.MaySeal(_bo.PeerId, _bo.SigningPublicKey, 1, 1, 2900, 7, 4), Is.False, "beyond the cut, though stamped before the leave");
        Assert.That(log.MaySeal(_bo.PeerId, _bo.SigningPublicKey, 1, 1, 2900, 6, 1), Is.False, "a run the cut does not name");
        Assert.That(log.MaySeal(_bo.PeerId, _bo.SigningPublicKey, 1, 1, 2900, 8, 1), Is.False, "a later run");
        Apply(log, GroupCommits.Rotate(log, _creator, null, 3500));
        Assert.That(log.RotationNeeded, Is.False);
        Assert.That(log.MaySeal(_bo.PeerId, _bo.SigningPublicKey, 2, 3, 3600, 7, 1), Is.False, "never a member of epoch 2");
        Assert.That(log.MaySeal(_creator.PeerId, _creator.SigningPublicKey, 1, 3, 3600, 9, 1), Is.False, "claims to know epoch 2 yet seals under 1");
        Assert.That(log.MaySeal(_creator.PeerId, _bo.SigningPublicKey, 2, 3, 3600, 9, 1), Is.False, "another key for the peer id");
        Assert.That(log.MaySeal(_outsider.PeerId, _outsider.SigningPublicKey, 2, 3, 3600, 9, 1), Is.False);
        Assert.That(log.MaySeal(_creator.PeerId, _creator.SigningPublicKey, 2, 3, 3600, 9, 1), Is.True);
    }

    [Test]
    public void A_departure_without_a_cut_is_refused_and_a_malformed_cut_does_not_parse()
    {
        var (log, keys) = Started();
        Apply(log, GroupCommits.Add(log, _creator, Joiners.Of(_bo, "bo", log), keys, 2000));
        var bare = LogEntry.TryParse(GroupCommits.Leave(log, _bo, 3000).Record, out _)! with { Cut = null };
        Assert.That(log.TryApply(bare.Sign(_bo), out var why), Is.False);
        Assert.That(why, Does.Contain("where the member's messages end"));
        foreach (var cut in new[] { new[] { (7L, 3L), (5L, 1L) }, [(7L, 0L)], [(0L, 1L)], [(7L, 1L), (7L, 2L)] })
        {
            var entry = LogEntry.TryParse(GroupCommits.Leave(log, _bo, 3000).Record, out _)! with { Cut = cut };
            Assert.That(LogEntry.TryParse(entry.Sign(_bo), out _), Is.Null, string.Join(",", cut));
        }

        Assert.That(GroupLog.CutOf([(7, 1), (5, 9), (7, 4), (0, 3)]), Is.EqualTo(new[] { (5L, 9L), (7L, 4L) }));
    }

    [Test]
    public void A_grant_signed_by_an_outsider_or_holding_another_key_is_refused()
    {
        var (log, keys) = Started();
        Apply(log, GroupCommits.Add(log, _creator, Joiners.Of(_bo, "bo", log), keys, 2000));
        using var attackerKey = GroupKey.Create();
        var byOutsider = KeyGrant.TryParse(KeyGrant.Create(keys[1], "g", 1, _bo.PeerId, _bo.Certificate.PublicKey, _outsider))!;
        Assert.That(GroupCommits.Accept(log, byOutsider, _bo, out var why), Is.Null);
        Assert.That(why, Does.Contain("not signed by a member"));
        var wrongKey = KeyGrant.TryParse(KeyGrant.Create(attackerKey, "g", 1, _bo.PeerId, _bo.Certificate.PublicKey, _creator))!;
        Assert.That(GroupCommits.Accept(log, wrongKey, _bo, out why), Is.Null);
        Assert.That(why, Does.Contain("committed"));
    }

    [Test]
    public void Several_newcomers_are_added_in_one_chained_commit_within_the_transaction_budget()
    {
        var (log, keys) = Started();
        var newcomers = Enumerable.Range(0, 80).Select(_ => Identities.New()).ToList();
        var commit = GroupCommits.AddAll(log, _creator, newcomers.Select(n => Joiners.Of(n, "n", log)).ToList(), keys, 2000, 120)!;
        var entries = commit.Entries.ToList();
        Assert.That(entries.Count + commit.Grants.Count, Is.LessThanOrEqualTo(120));
        Assert.That(entries.Count, Is.EqualTo(60), "one entry and one grant each");
        foreach (var (index, record) in entries)
        {
            Assert.That(log.Head + 1, Is.EqualTo(index));
            Assert.That(log.TryApply(record, out var why), Is.True, why);
        }

        Assert.That(log.Members, Has.Count.EqualTo(61));
        newcomers.ForEach(n => n.Dispose());
    }

    [Test]
    public void Only_a_bare_record_counts_as_the_format_before_signed_logs_not_a_tampered_genesis()
    {
        var (log, _) = Started(LogEntry.Private);
        var tampered = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(log.RecordAt(0)).Replace("private", "open"));
        Assert.That(Mesh.Coordinator.Groups.GroupRecord.IsUnsignedFormat(tampered), Is.False);
        Assert.That(Mesh.Coordinator.Groups.GroupRecord.IsUnsignedFormat(log.RecordAt(0)), Is.False);
        var old = new Mesh.Coordinator.Groups.GroupRecord(1, "amy", "open", "check").ToBytes();
        Assert.That(Mesh.Coordinator.Groups.GroupRecord.IsUnsignedFormat(old), Is.True);
    }

    [Test]
    public void An_addition_needs_the_newcomers_own_consent_to_this_group_its_keys_and_name()
    {
        var (log, keys) = Started();
        var forced = Joiners.Of(_bo, "bo", log) with { Consent = null };
        Assert.That(log.TryApply(GroupCommits.Add(log, _creator, forced, keys, 2000).Record, out var why), Is.False);
        Assert.That(why, Does.Contain("consent"));

        // Consent given as another name, or to another group of the same name, or by someone else, does not do.
        var renamed = Joiners.Of(_bo, "bo", log) with { Member = Joiners.Of(_bo, "bo", log).Member with { Name = "boss" } };
        Assert.That(log.TryApply(GroupCommits.Add(log, _creator, renamed, keys, 2000).Record, out _), Is.False);
        var elsewhere = Joiners.Of(_bo, "bo", log) with { Consent = JoinConsent.Sign(_bo, "g", new string('0', 64), "bo") };
        Assert.That(log.TryApply(GroupCommits.Add(log, _creator, elsewhere, keys, 2000).Record, out _), Is.False);
        var byOther = Joiners.Of(_bo, "bo", log) with { Consent = JoinConsent.Sign(_cy, "g", log.GenesisHash, "bo") };
        Assert.That(log.TryApply(GroupCommits.Add(log, _creator, byOther, keys, 2000).Record, out _), Is.False);

        Apply(log, GroupCommits.Add(log, _creator, Joiners.Of(_bo, "bo", log), keys, 2000));
        Assert.That(log.Members.ContainsKey(_bo.PeerId), Is.True);
    }

    [Test]
    public void A_group_created_before_consent_keeps_its_rule_and_its_genesis_cannot_be_lowered()
    {
        var genesis = LogEntry.TryParse(GroupCommits.Genesis("g", LogEntry.Open, _creator, "amy", 1000).Record, out _)! with { Version = 1 };
        var log = GroupLog.TryStart("g", genesis.Sign(_creator), out var error) ?? throw new AssertionException(error);
        Assert.That(log.RequiresConsent, Is.False);
        Apply(log, GroupCommits.Add(log, _creator, Joiners.Of(_bo, "bo", log) with { Consent = null }, new Dictionary<long, GroupKey>(), 2000));

        var (strict, _) = Started();
        Assert.That(strict.RequiresConsent, Is.True);
    }

    [Test]
    public void A_new_epoch_must_commit_to_every_member_that_stays_as_its_keys_recipients()
    {
        var (log, keys) = Started();
        Apply(log, GroupCommits.Add(log, _creator, Joiners.Of(_bo, "bo", log), keys, 2000));
        Apply(log, GroupCommits.Add(log, _creator, Joiners.Of(_cy, "cy", log), keys, 2000));
        var rotation = LogEntry.TryParse(GroupCommits.Rotate(log, _bo, null, 3000).Record, out _)!;
        var omitting = rotation with { Recipients = GroupLog.RecipientsHash([_creator.PeerId, _bo.PeerId]) };
        Assert.That(log.TryApply(omitting.Sign(_bo), out var why), Is.False);
        Assert.That(why, Does.Contain("every member that stays"));
        Assert.That(log.TryApply((rotation with { Recipients = null }).Sign(_bo), out _), Is.False);

        var removal = LogEntry.TryParse(GroupCommits.Rotate(log, _creator, _cy.PeerId, 3000, []).Record, out _)!;
        Assert.That(removal.Recipients, Is.EqualTo(GroupLog.RecipientsHash([_bo.PeerId, _creator.PeerId])), "the removed one is not a recipient");
        Apply(log, GroupCommits.Rotate(log, _creator, _cy.PeerId, 3000, []));
    }
}
