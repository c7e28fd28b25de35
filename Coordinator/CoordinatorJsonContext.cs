using System.Text.Json.Serialization;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.Membership;

namespace Mesh.Coordinator;

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MemberRecord))]
[JsonSerializable(typeof(GroupRecord))]
[JsonSerializable(typeof(LinkStates))]
internal sealed partial class CoordinatorJsonContext : JsonSerializerContext;
