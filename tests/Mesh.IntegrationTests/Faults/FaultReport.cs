using System.Text.Json;

namespace Mesh.IntegrationTests.Faults;

/// <summary>The figures of one fault scenario: written to the test output and appended to
/// <c>fault-results.jsonl</c> there, which <c>docs/reliability.md</c> draws its figures from.</summary>
public sealed record FaultReport(string Scenario, int Sent, int Received, int Missing, int Duplicated, double RecoverySeconds)
{
    public void Publish()
    {
        TestContext.Out.WriteLine($"{Scenario}: sent {Sent}, received {Received}, missing {Missing}, duplicated {Duplicated}, recovered in {RecoverySeconds:F2} s");
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, "fault-results.jsonl");
        File.AppendAllText(path, JsonSerializer.Serialize(this) + "\n");
    }

    /// <summary>Counts what a receiver got against what was sent: missing ones, and copies beyond the first.</summary>
    public static FaultReport Of(string scenario, IReadOnlyCollection<string> sent, IReadOnlyList<string> received, TimeSpan recovery) =>
        new(scenario, sent.Count, received.Count, sent.Except(received).Count(),
            received.Count - received.Distinct().Count(), recovery.TotalSeconds);
}
