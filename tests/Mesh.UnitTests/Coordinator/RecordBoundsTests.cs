using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Protocol;

namespace Mesh.UnitTests.Coordinator;

/// <summary>Reads leave out values over a bound: no record Mesh writes may be over it.</summary>
[Category("Unit")]
public sealed class RecordBoundsTests
{
    [Test]
    public void The_largest_envelope_fits_under_the_history_value_bound() =>
        Assert.That(EnvelopeCodec.MaxEncodedBytes, Is.LessThanOrEqualTo(EtcdHistoryStore.MaxValueBytes));

    [Test]
    public void Every_group_record_fits_under_the_group_value_bound() =>
        Assert.That(new[] { LogEntry.MaxBytes, KeyGrant.MaxBytes, AdmissionRequest.MaxBytes, InviteRecord.MaxBytes },
            Has.All.LessThanOrEqualTo(GroupLogStore.MaxValueBytes));
}
