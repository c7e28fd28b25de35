if (args.Length > 0 && args[0] == "join")
{
    // The peer runs with spin-free waits (may replace this process before anything else is done).
    Mesh.Peer.Runtime.SpinFreeRuntime.Apply();
}

return await Mesh.Peer.Cli.Cli.RunAsync(args);
