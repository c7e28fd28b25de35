using Mesh.Peer.Configuration;
using Mesh.Peer.Groups;

namespace Mesh.UnitTests.Groups;

/// <summary>Invite codes: the form made now names its group and round-trips; the older form still parses; anything
/// else, of any length, is one clear error.</summary>
[Category("Unit")]
public sealed class InviteCodeTests
{
    private static readonly string Genesis = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("genesis"u8));

    [Test]
    public void A_code_that_names_its_group_round_trips_with_the_same_secret_id_and_key()
    {
        using var made = Invite.Create(Genesis, "ops.team_1");
        Assert.That(made.Code, Does.StartWith("mesh3."));
        using var parsed = Invite.Parse("  " + made.Code + "\n", "test");
        Assert.That((parsed.Group, parsed.GenesisHash, parsed.Id), Is.EqualTo(("ops.team_1", Genesis, made.Id)));
        Assert.That(parsed.PublicKey, Is.EqualTo(made.PublicKey));
        Assert.That(parsed.Code, Is.EqualTo(made.Code));
    }

    [Test]
    public void A_code_of_the_longest_group_name_stays_within_the_bound()
    {
        using var made = Invite.Create(Genesis, new string('g', Naming.MaxGroupLength));
        Assert.That(made.Code.Length, Is.LessThanOrEqualTo(Invite.MaxCodeLength));
        using var parsed = Invite.Parse(made.Code, "test");
        Assert.That(parsed.Group, Is.EqualTo(new string('g', Naming.MaxGroupLength)));
    }

    [Test]
    public void A_code_of_the_older_form_still_parses_and_names_no_group()
    {
        using var old = Invite.Create(Genesis);
        Assert.That(old.Code, Does.StartWith("mesh2.").And.Length.EqualTo(6 + 86));
        using var parsed = Invite.Parse(old.Code, "test");
        Assert.That(parsed.Group, Is.Null);
        Assert.That((parsed.GenesisHash, parsed.Id), Is.EqualTo((Genesis, old.Id)));
    }

    private static IEnumerable<string> BadCodes()
    {
        using var good = Invite.Create(Genesis, "ops");
        yield return "";
        yield return "hello";
        yield return "mesh3.";
        yield return "mesh9." + good.Code[6..];
        yield return good.Code[..^3];
        yield return good.Code + "!!";
        yield return "mesh3." + new string('A', 100_000);
        yield return "mesh2." + good.Code[6..];
        // A name's length that is not the rest's; a name that breaks the group rule, is not ASCII, or is too long.
        yield return "mesh3." + Base64Url([.. new byte[64], 5, .. "ops"u8]);
        yield return "mesh3." + Base64Url([.. new byte[64], 8, .. "bad/name"u8]);
        yield return "mesh3." + Base64Url([.. new byte[64], 2, .. "é"u8]);
        yield return "mesh3." + Base64Url([.. new byte[64], 65, .. new byte[65].Select(_ => (byte)'g')]);
    }

    [TestCaseSource(nameof(BadCodes))]
    public void Anything_else_is_one_clear_error_that_never_repeats_the_input(string code)
    {
        var error = Assert.Throws<MeshException>(() => Invite.Parse(code, "MESH_INVITE"))!;
        Assert.That(error.Message, Does.StartWith("MESH_INVITE: ").And.Contain("invite code"));
        Assert.That(error.Message, Does.Not.Contain("\n"));
        Assert.That(error.Message.Length, Is.LessThan(160));
        Assert.That(error.ExitCode, Is.EqualTo(2));
    }

    [TestCase("mesh3.AbC-_9", true)]
    [TestCase("  mesh2.xyz  ", true)]
    [TestCase("mesh3.abc def", false)]
    [TestCase("the code is mesh3.abc", false)]
    [TestCase("mesh3", false)]
    [TestCase("/accept mesh3.abc", false)]
    public void Only_a_line_that_is_one_code_looks_like_a_code(string line, bool looks) =>
        Assert.That(Invite.LooksLikeCode(line), Is.EqualTo(looks));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
