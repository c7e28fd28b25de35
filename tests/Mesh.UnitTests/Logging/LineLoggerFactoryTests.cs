using Mesh.Coordinator.History;
using Mesh.Peer.Logging;
using Microsoft.Extensions.Logging;

namespace Mesh.UnitTests.Logging;

[Category("Unit")]
public sealed class LineLoggerFactoryTests
{
    private const string Hostile = "mallory\u001b[2J\u001b]0;pwned\u0007\u009b31m\u0085\r\nfake line\u202eevil\u0000\u007f";

    private static bool Printable(string line) =>
        line.All(c => c >= 0x20 && c is not (>= '\u007f' and <= '\u009f') && c is not ('\u202e' or '\u2066'));

    [Test]
    public void A_name_with_terminal_escapes_and_controls_is_written_printable_on_one_line()
    {
        var output = new StringWriter();
        using var logs = new LineLoggerFactory(LogLevel.Information, output);
        logs.CreateLogger("session").LogWarning("member {Name} joined", Hostile);

        logs.Flush();
        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), "a line break in a name cannot start a line of its own");
        Assert.That(Printable(lines[0]), Is.True, lines[0]);
        Assert.That(lines[0], Does.Contain("member mallory\uFFFD[2J\uFFFD]0;pwned\uFFFD").And.Contain("fake line").And.Contain("evil"));
    }

    [Test]
    public void A_logger_message_method_and_an_exception_message_are_made_printable_too()
    {
        var output = new StringWriter();
        using var logs = new LineLoggerFactory(LogLevel.Information, output);
        new OversizedValues(logs.CreateLogger("history")).Add(Hostile, 3);
        logs.CreateLogger("etcd").LogWarning(new InvalidOperationException("refused " + Hostile), "watch broke");

        logs.Flush();
        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(2));
        Assert.That(lines, Has.All.Matches<string>(Printable));
        Assert.That(lines[0], Does.Contain("left out 3 history values"));
        Assert.That(lines[1], Does.Contain("InvalidOperationException: refused mallory\uFFFD[2J"));
    }

    [Test]
    public void At_trace_the_stack_trace_keeps_its_lines_each_printable()
    {
        var output = new StringWriter();
        using var logs = new LineLoggerFactory(LogLevel.Trace, output);
        Exception thrown;
        try
        {
            throw new InvalidOperationException(Hostile);
        }
        catch (InvalidOperationException e)
        {
            thrown = e;
        }

        logs.CreateLogger("node").LogError(thrown, "failed");
        logs.Flush();
        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.GreaterThan(1), "the stack trace, line by line");
        Assert.That(lines, Has.All.Matches<string>(Printable));
        Assert.That(lines.Skip(1), Has.All.StartsWith("    "), "every further line indented: none passes for an entry of its own");
    }
}
