using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/Mesh.Micro            (every benchmark, a short job each)
// dotnet run -c Release --project tests/Mesh.Micro -- --filter '*verify*'
var config = DefaultConfig.Instance
    .AddJob(Job.ShortRun.WithId("short"))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(Mesh.Micro.EnvelopeBenchmarks).Assembly)
    .Run(args.Length == 0 ? ["--filter", "*"] : args, config);
