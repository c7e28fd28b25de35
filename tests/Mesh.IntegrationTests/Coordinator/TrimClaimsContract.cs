namespace Mesh.IntegrationTests.Coordinator;

/// <summary>What every <see cref="Mesh.Coordinator.History.ITrimClaims"/> must do; run against the in-memory twin and
/// against real etcd.</summary>
public abstract class TrimClaimsContract : PortContract
{
    [Test]
    public async Task A_claim_is_taken_only_at_the_revision_seen_or_by_force_and_each_group_has_its_own()
    {
        var group = Unique("t");
        var other = group + "x";
        var claims = Ports.TrimClaims;
        Assert.That(await claims.ReadAsync(group, None), Is.Zero, "no one has claimed");

        Assert.That(await claims.TryTakeAsync(group, 0, "amy", force: false, None), Is.True);
        var taken = await claims.ReadAsync(group, None);
        Assert.That(taken, Is.GreaterThan(0));
        Assert.That(await claims.TryTakeAsync(group, 0, "bo", force: false, None), Is.False, "a member that saw no claim comes second");

        Assert.That(await claims.TryTakeAsync(group, taken, "bo", force: false, None), Is.True);
        var again = await claims.ReadAsync(group, None);
        Assert.That(again, Is.GreaterThan(taken));
        Assert.That(await claims.TryTakeAsync(group, taken, "cy", force: false, None), Is.False, "a stale revision");

        Assert.That(await claims.TryTakeAsync(group, taken, "cy", force: true, None), Is.True, "forced, whatever was seen");
        Assert.That(await claims.ReadAsync(group, None), Is.GreaterThan(again));
        Assert.That(await claims.ReadAsync(other, None), Is.Zero, "another group's claim is untouched");
    }
}

[Category("Unit")]
public sealed class InMemoryTrimClaimsContract : TrimClaimsContract
{
    protected override Task<PortsUnderTest> StartPortsAsync() => InMemoryPorts.StartAsync();
}

[Category("Integration")]
public sealed class EtcdTrimClaimsContract : TrimClaimsContract
{
    protected override Task<PortsUnderTest> StartPortsAsync() => EtcdPorts.StartAsync();
}
