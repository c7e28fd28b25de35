return await Mesh.Bench.GroupThroughputBenchmark.RunAsync(args);
