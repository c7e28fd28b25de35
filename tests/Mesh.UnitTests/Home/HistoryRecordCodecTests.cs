using System.Text;
using Mesh.Coordinator.History;
using Mesh.Peer.Home;

namespace Mesh.UnitTests.Home;

[Category("Unit")]
public sealed class HistoryRecordCodecTests
{
    private static HistoryEntry Entry(int i) => new("ops", $"/mesh/history/ops/p/1/{i:D20}", Encoding.UTF8.GetBytes($"value {i} " + new string('x', 200)));

    private static byte[] Concat(IEnumerable<byte[]> records) => records.SelectMany(r => r).ToArray();

    [Test]
    public void Records_written_now_carry_a_crc32_and_read_back_whole()
    {
        var bytes = Concat(Enumerable.Range(0, 50).Select(i => HistoryRecordCodec.Encode(Entry(i))));
        Assert.That(Encoding.ASCII.GetString(bytes, 0, 4), Is.EqualTo("MshC"));
        var read = new List<HistoryEntry>();
        var scan = HistoryRecordCodec.Read(bytes, read);
        Assert.That(scan.Records, Is.EqualTo(50));
        Assert.That(scan.Damaged, Is.Zero);
        Assert.That(read.Select(e => e.Name), Is.EqualTo(Enumerable.Range(0, 50).Select(i => Entry(i).Name)));
        Assert.That(read[7].Value, Is.EqualTo(Entry(7).Value));
    }

    [Test]
    public void A_file_of_older_sha256_records_with_new_ones_appended_reads_both()
    {
        var bytes = Concat(Enumerable.Range(0, 10).Select(i => HistoryRecordCodec.EncodeSha256(Entry(i)))
            .Concat(Enumerable.Range(10, 10).Select(i => HistoryRecordCodec.Encode(Entry(i)))));
        var read = new List<HistoryEntry>();
        var scan = HistoryRecordCodec.Read(bytes, read);
        Assert.That(scan.Records, Is.EqualTo(20));
        Assert.That(scan.Damaged, Is.Zero);
        Assert.That(HistoryRecordCodec.IsLegacy(bytes), Is.False);
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Every_single_flipped_bit_of_a_record_costs_that_record_alone(bool crc)
    {
        var records = Enumerable.Range(0, 3).Select(i => crc ? HistoryRecordCodec.Encode(Entry(i)) : HistoryRecordCodec.EncodeSha256(Entry(i))).ToList();
        var middle = records[1];
        var start = records[0].Length;
        for (var bit = 0; bit < middle.Length * 8; bit += 7)
        {
            var bytes = Concat(records);
            bytes[start + bit / 8] ^= (byte)(1 << (bit % 8));
            var read = new List<HistoryEntry>();
            var scan = HistoryRecordCodec.Read(bytes, read);
            Assert.That(read.Select(e => e.Name), Is.EqualTo(new[] { Entry(0).Name, Entry(2).Name }), $"bit {bit}");
            Assert.That(scan.Damaged, Is.EqualTo(1), $"bit {bit}");
        }
    }

    [Test]
    public void A_record_cut_short_at_the_end_is_torn_not_damage()
    {
        var whole = Concat(Enumerable.Range(0, 3).Select(i => HistoryRecordCodec.Encode(Entry(i))));
        foreach (var cut in new[] { 2, 11, 40 })
        {
            var read = new List<HistoryEntry>();
            var scan = HistoryRecordCodec.Read(whole.AsSpan(0, whole.Length - HistoryRecordCodec.Encode(Entry(2)).Length + cut), read);
            Assert.That(scan.Records, Is.EqualTo(2), $"cut at {cut}");
            Assert.That(scan.TornTail, Is.True, $"cut at {cut}");
            Assert.That(scan.Damaged, Is.Zero, $"cut at {cut}");
        }
    }
}
