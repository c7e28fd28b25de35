// Mesh runs on Unix: identity files rely on Unix file modes (0600) and advisory locks.
[assembly: System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
