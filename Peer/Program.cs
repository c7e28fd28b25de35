return await Mesh.Peer.Cli.Cli.RunAsync(args);
