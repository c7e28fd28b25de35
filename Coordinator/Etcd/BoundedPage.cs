using Etcdserverpb;

namespace Mesh.Coordinator.Etcd;

/// <summary>One page of a range read by <see cref="BoundedRange"/>.</summary>
/// <param name="Response">etcd's answer.</param>
/// <param name="ValuesLeftOut">True when one key's value alone was over the receive limit: the page holds that key
/// without its value (read keys-only), and the reader treats it as a value too large to be anything of Mesh's.</param>
public sealed record BoundedPage(RangeResponse Response, bool ValuesLeftOut);
