using Mesh.Peer.Session;
using Terminal.Gui.App;

namespace Mesh.Peer.Ui;

/// <summary>Runs a session behind the full-screen client. Session events reach the UI thread only through
/// <c>app.Invoke</c>, in batches; the UI never waits on the network or etcd.</summary>
public static class TuiRunner
{
    public static async Task<int> RunAsync(ChatSession session, IReadOnlyList<string> groups, JoinRequest request,
        string name, string fingerprint, string home, CancellationToken ct)
    {
        var (created, _) = AltKeys.CreateApplication();
        using IApplication app = created;
        app.Init();
        var model = new ChatModel(name, fingerprint) { PeerId = session.PeerId };
        var marks = new ReadMarksFile(home);
        var problems = new System.Collections.Concurrent.ConcurrentQueue<string>();
        try
        {
            model.RestoreReadMarks(marks.Load());
        }
        catch (Configuration.MeshException e)
        {
            problems.Enqueue("! " + e.Message);
        }

        var saver = new ReadMarksSaver(marks, problems.Enqueue);
        foreach (var group in groups)
        {
            model.Group(group);
        }

        var quitting = 0;
        ChatWindow? window = null;
        void Quit()
        {
            if (Interlocked.Exchange(ref quitting, 1) == 0)
            {
                model.Leaving = true;
                window?.Refresh();
                session.PostEndOfInput();
            }
        }

        window = new ChatWindow(model, (line, group) => session.PostLine(line, group), Quit, () => DateTimeOffset.Now);
        window.Attach(app);
        app.AddTimeout(TimeSpan.FromSeconds(1), () =>
        {
            // News on the status bar expires.
            var changed = model.Expire(DateTimeOffset.Now);
            if (model.TakeReadMarks() is { } moved)
            {
                saver.Offer(moved);
            }

            while (problems.TryDequeue(out var problem))
            {
                model.Say(problem, DateTimeOffset.Now);
                changed = true;
            }

            if (changed)
            {
                window.Refresh();
            }

            return true;
        });

        var run = Task.Run(() => session.RunAsync(groups, request, ct), ct);
        var pump = Task.Run(async () =>
        {
            var events = session.Events;
            while (await events.WaitToReadAsync())
            {
                var batch = new List<MeshEvent>();
                while (batch.Count < 5000 && events.TryRead(out var e))
                {
                    batch.Add(e);
                }

                app.Invoke(() =>
                {
                    var now = DateTimeOffset.Now;
                    foreach (var e in batch)
                    {
                        model.Apply(e, now);
                    }

                    window.Refresh();
                });
            }

            // The session has ended (every group left cleanly): close the screen.
            app.Invoke(() => app.RequestStop());
        });

        try
        {
            app.Run(window);
        }
        finally
        {
            Quit();
        }

        var code = await run;
        await pump;
        saver.Offer(model.ReadMarks());
        await saver.FlushAsync();
        await session.DisposeAsync();
        window.Dispose();
        return code;
    }
}
