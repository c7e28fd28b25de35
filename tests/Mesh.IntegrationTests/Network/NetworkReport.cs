using System.Globalization;
using System.Text.Json;

namespace Mesh.IntegrationTests.Network;

/// <summary>The figures of one network condition, over every reader and every sender: written to the test output and
/// appended to <c>network-results.jsonl</c> there, which <c>docs/reliability.md</c> draws its figures from.</summary>
/// <param name="Sent">Messages that should be shown, summed over the readers (each reader should show every one).</param>
/// <param name="NoticeSeconds">From the fault to the first peer reporting the lost member's link down.</param>
/// <param name="RecoverySeconds">From the end of the fault to every link back up.</param>
/// <param name="AllShownSeconds">From the end of the fault until every peer shows every message sent.</param>
public sealed record NetworkReport(string Scenario, double OneWayDelayMs, int Sent, int Shown, int Missing, int Duplicated,
    int OutOfOrder, double? LatencyP50Ms, double? LatencyP99Ms, double? NoticeSeconds, double? RecoverySeconds, double? AllShownSeconds = null)
{
    public void Publish()
    {
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Scenario}: sent {Sent}, shown {Shown}, missing {Missing}, duplicated {Duplicated}, out of order {OutOfOrder}; " +
            $"latency p50 {LatencyP50Ms:F1} ms, p99 {LatencyP99Ms:F1} ms (one way {OneWayDelayMs} ms); " +
            $"noticed in {NoticeSeconds:F2} s, links back in {RecoverySeconds:F2} s, all shown {AllShownSeconds:F2} s after"));
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, "network-results.jsonl");
        File.AppendAllText(path, JsonSerializer.Serialize(this) + "\n");
    }
}
