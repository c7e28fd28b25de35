namespace Mesh.Monitoring.Watcher;

/// <summary>Something that happened in the mesh (a peer came, left or failed; etcd health changed), newest first.</summary>
public sealed record MeshEventView(long Time, string Text);
