namespace Mesh.IntegrationTests.Coordinator;

/// <summary>Base of the port contracts: one etcd (real, or the in-memory twin) for the whole fixture, always stopped.
/// A subclass says which; every test uses keys no other test does.</summary>
public abstract class PortContract
{
    protected static readonly CancellationToken None = CancellationToken.None;

    protected PortsUnderTest Ports { get; private set; } = null!;

    protected abstract Task<PortsUnderTest> StartPortsAsync();

    [OneTimeSetUp]
    public async Task StartPorts() => Ports = await StartPortsAsync();

    [OneTimeTearDown]
    public async Task StopPorts()
    {
        if (Ports is not null)
        {
            await Ports.DisposeAsync();
        }
    }

    /// <summary>A name no other test uses.</summary>
    protected static string Unique(string stem) => $"{stem}-{Guid.NewGuid():N}";

    protected static byte[] Bytes(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    protected static string Text(byte[] value) => System.Text.Encoding.UTF8.GetString(value);
}
