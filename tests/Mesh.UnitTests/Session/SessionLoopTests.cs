using Mesh.Peer.Session;
using Mesh.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.UnitTests.Session;

/// <summary>The loop's lanes: a group's slow work holds only that group's lines, each lane keeps its order, live inputs
/// go on meanwhile, end of input waits for every lane, and a failing input costs that input only.</summary>
public sealed class SessionLoopTests
{
    private LoopThread _thread = null!;
    private SessionLoop _loop = null!;
    private Handler _handler = null!;

    [SetUp]
    public void SetUp()
    {
        _thread = new LoopThread();
        _loop = new SessionLoop(NullLogger.Instance);
        _handler = new Handler(_thread);
    }

    [TearDown]
    public void TearDown() => _thread.Dispose();

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private Task Run() => _thread.RunAsync(() => _loop.RunAsync(_handler, CancellationToken.None));

    /// <summary>A line "lane:text" goes to that lane.</summary>
    private void Type(string line) => _loop.Post(new SessionInput.UserLine(line));

    [Test]
    public async Task A_group_waiting_on_etcd_holds_none_of_another_groups_lines()
    {
        var join = _handler.Block("x:join");
        var running = Run();
        Type("x:join");
        Type("x:after join");
        Type("a:one");
        Type("a:two");
        await _handler.WaitAsync(h => h.Handled.Contains("a:two"), Timeout, "a's lines while x's join waits");
        Assert.That(_handler.Handled, Is.EqualTo(new[] { "x:join", "a:one", "a:two" }), "x's next line waits for its join, a's do not");

        join.SetResult();
        await _handler.WaitAsync(h => h.Handled.Contains("x:after join"), Timeout, "x's line after its join");
        Assert.That(_handler.Ended.IndexOf("x:join"), Is.LessThan(_handler.Handled.IndexOf("x:after join")), "in order within x");
        _loop.Post(new SessionInput.EndOfInput());
        await running.WaitAsync(Timeout);
    }

    [Test]
    public async Task With_no_lane_waiting_lines_are_taken_in_the_order_typed_across_groups()
    {
        var running = Run();
        string[] typed = ["a:1", "b:1", "a:2", "c:1", "b:2"];
        foreach (var line in typed)
        {
            Type(line);
        }

        _loop.Post(new SessionInput.EndOfInput());
        await running.WaitAsync(Timeout);
        Assert.That(_handler.Handled, Is.EqualTo(typed.Append("end")));
    }

    [Test]
    public async Task Live_inputs_go_on_while_a_lane_waits()
    {
        var join = _handler.Block("x:join");
        var running = Run();
        Type("x:join");
        await _handler.WaitAsync(h => h.Handled.Contains("x:join"), Timeout, "the join started");
        _loop.Post(new SessionInput.Notice("live"));
        await _handler.WaitAsync(h => h.Handled.Contains("notice:live"), Timeout, "a live input while the join waits");
        join.SetResult();
        _loop.Post(new SessionInput.EndOfInput());
        await running.WaitAsync(Timeout);
    }

    [Test]
    public async Task End_of_input_waits_for_every_lane_before_the_loop_ends()
    {
        var join = _handler.Block("x:join");
        var running = Run();
        Type("x:join");
        Type("x:then");
        _loop.Post(new SessionInput.EndOfInput());
        await _handler.WaitAsync(h => h.Handled.Contains("x:join"), Timeout, "the join started");
        Assert.That(running.IsCompleted, Is.False, "the loop waits for x's lane");
        join.SetResult();
        await running.WaitAsync(Timeout);
        Assert.That(_handler.Handled, Is.EqualTo(new[] { "x:join", "x:then", "end" }));
    }

    [Test]
    public async Task A_failing_input_is_told_and_costs_that_input_only()
    {
        var running = Run();
        Type("a:fail");
        Type("a:next");
        _loop.Post(new SessionInput.EndOfInput());
        await running.WaitAsync(Timeout);
        Assert.That(_handler.Failures.Single(), Does.Contain("boom"));
        Assert.That(_handler.Handled, Does.Contain("a:next"));
    }

    [Test]
    public async Task Every_input_is_handled_on_the_loop_thread()
    {
        var join = _handler.Block("x:join");
        var running = Run();
        Type("x:join");
        Type("x:then");
        _loop.Post(new SessionInput.Notice("live"));
        join.SetResult();
        _loop.Post(new SessionInput.EndOfInput());
        await running.WaitAsync(Timeout);
        Assert.That(_handler.OffLoop, Is.Zero);
    }

    /// <summary>Routes "lane:text" lines to their lane; records what it handled, in order, on the loop.</summary>
    private sealed class Handler(LoopThread thread) : ISessionHandler
    {
        private readonly Dictionary<string, TaskCompletionSource> _blocks = [];

        public List<string> Handled { get; } = [];

        public List<string> Ended { get; } = [];

        public List<string> Failures { get; } = [];

        public int OffLoop;

        public TaskCompletionSource Block(string line) => _blocks[line] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task WaitAsync(Func<Handler, bool> condition, TimeSpan timeout, string what) =>
            await Waiting.UntilAsync(async () => await thread.Run(() => condition(this)), timeout, what);

        public (string? Lane, SessionInput? Work) Route(SessionInput input) =>
            input is SessionInput.UserLine line ? (line.Text.Split(':')[0], input) : (null, input);

        public async Task HandleAsync(SessionInput input, CancellationToken ct)
        {
            if (!thread.OnLoop)
            {
                Interlocked.Increment(ref OffLoop);
            }

            var name = input switch
            {
                SessionInput.UserLine line => line.Text,
                SessionInput.Notice notice => $"notice:{notice.Message}",
                SessionInput.EndOfInput => "end",
                _ => input.GetType().Name,
            };
            Handled.Add(name);
            if (name.EndsWith(":fail", StringComparison.Ordinal))
            {
                throw new InvalidOperationException("boom");
            }

            if (_blocks.TryGetValue(name, out var block))
            {
                await block.Task;
            }

            Ended.Add(name);
        }

        public void Before(SessionInput input)
        {
        }

        public void Idle()
        {
        }

        public void Failed(string message) => Failures.Add(message);
    }
}
