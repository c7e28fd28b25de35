using Mesh.Peer.Session;

namespace Mesh.UnitTests.Session;

[Category("Unit")]
public sealed class LinkTableTests
{
    private static LinkTable Following(params string[] peers)
    {
        var table = new LinkTable();
        table.Follow(peers);
        return table;
    }

    [Test]
    public void A_followed_member_connects_and_its_first_hello_is_not_a_reconnection()
    {
        var table = Following("a", "b");
        Assert.That(table.StateOf("a"), Is.EqualTo(LinkState.Connecting));
        Assert.That(table.OnUp("a"), Is.EqualTo(LinkNews.Connected));
        Assert.That(table.OnUp("a"), Is.EqualTo(LinkNews.None), "a second hello changes nothing");
        Assert.That((table.UpCount, table.Known), Is.EqualTo((1, 2)));
    }

    [Test]
    public void A_lost_link_is_said_once_its_retry_once_and_its_hello_brings_it_back()
    {
        var table = Following("a");
        table.OnUp("a");
        Assert.That(table.OnTrouble("a", retrying: false), Is.EqualTo(LinkNews.Lost));
        Assert.That(table.OnTrouble("a", retrying: false), Is.EqualTo(LinkNews.None), "lost once per outage");
        Assert.That(table.OnTrouble("a", retrying: true), Is.EqualTo(LinkNews.Reconnecting));
        Assert.That(table.OnTrouble("a", retrying: true), Is.EqualTo(LinkNews.None), "retrying said once per outage");
        Assert.That(table.UpCount, Is.Zero);
        Assert.That(table.OnUp("a"), Is.EqualTo(LinkNews.Back));
        Assert.That(table.UpCount, Is.EqualTo(1));
    }

    [Test]
    public void A_link_that_never_came_up_and_drops_is_lost_and_its_first_hello_is_back()
    {
        var table = Following("a");
        Assert.That(table.OnTrouble("a", retrying: false), Is.EqualTo(LinkNews.Lost));
        Assert.That(table.OnUp("a"), Is.EqualTo(LinkNews.Back), "what it sent meanwhile has to be swept");
    }

    [Test]
    public void Retrying_before_any_loss_is_not_news()
    {
        var table = Following("a");
        table.OnUp("a");
        Assert.That(table.OnTrouble("a", retrying: true), Is.EqualTo(LinkNews.None));
        Assert.That(table.IsUp("a"), Is.True);
    }

    [Test]
    public void Peers_not_followed_make_no_news_and_are_not_counted()
    {
        var table = Following("a");
        Assert.That(table.OnUp("x"), Is.EqualTo(LinkNews.None));
        Assert.That(table.OnTrouble("x", retrying: false), Is.EqualTo(LinkNews.None));
        Assert.That((table.UpCount, table.Known), Is.EqualTo((0, 1)));
        Assert.That(table.Linkable("x"), Is.False);
    }

    [Test]
    public void A_member_no_longer_followed_is_forgotten_with_its_state()
    {
        var table = Following("a", "b");
        table.OnUp("a");
        table.OnUp("b");
        table.Follow(["b"]);
        Assert.That(table.StateOf("a"), Is.Null);
        Assert.That((table.UpCount, table.Known), Is.EqualTo((1, 1)));
        table.Follow(["a", "b"]);
        Assert.That(table.StateOf("a"), Is.EqualTo(LinkState.Connecting), "followed again: a new link");
        Assert.That(table.OnUp("a"), Is.EqualTo(LinkNews.Connected));
    }

    [Test]
    public void A_member_that_moved_waits_for_a_new_hello_without_news()
    {
        var table = Following("a");
        table.OnUp("a");
        table.OnMoved("a");
        Assert.That(table.StateOf("a"), Is.EqualTo(LinkState.Connecting));
        Assert.That(table.UpCount, Is.Zero);
        Assert.That(table.OnUp("a"), Is.EqualTo(LinkNews.Connected));
    }

    [Test]
    public void A_quarantined_link_is_not_linked_and_ignores_its_hellos_until_its_time_is_over()
    {
        var table = Following("a");
        table.OnUp("a");
        table.Quarantine("a", nowMs: 1_000);
        Assert.That(table.Linkable("a"), Is.False);
        Assert.That(table.UpCount, Is.Zero);
        Assert.That(table.OnUp("a"), Is.EqualTo(LinkNews.None), "a late hello does not lift it");
        var end = 1_000 + (long)LinkTable.QuarantineTime.TotalMilliseconds;
        Assert.That(table.ReleaseDue(end - 1), Is.False);
        Assert.That(table.ReleaseDue(end), Is.True);
        Assert.That(table.Linkable("a"), Is.True);
        Assert.That(table.ReleaseDue(end + 1), Is.False, "released once");
        Assert.That(table.OnUp("a"), Is.EqualTo(LinkNews.Back), "what it sent while cut has to be swept");
    }

    [Test]
    public void The_snapshot_lists_up_and_not_up_in_peer_id_order()
    {
        var table = Following("c", "a", "b");
        table.OnUp("c");
        table.OnUp("a");
        table.OnTrouble("a", retrying: false);
        var snapshot = table.Snapshot();
        Assert.That(snapshot.Up, Is.EqualTo(new[] { "c" }));
        Assert.That(snapshot.Down, Is.EqualTo(new[] { "a", "b" }));
    }
}
