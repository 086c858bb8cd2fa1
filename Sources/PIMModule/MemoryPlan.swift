import Workload

/// What one module holds: its layers' weights (and the LM head on the last stage), and the room left for
/// the KV cache of those layers.
public struct MemoryPlan: Sendable, Equatable, Codable {
    public var capacityBytes: Int64
    public var weightBytes: Int64
    /// KV bytes one token takes in this module's layers.
    public var kvBytesPerToken: Int64

    public init(model: ModelConfig, module: ModuleConfig, layers: Int, includesLMHead: Bool) {
        capacityBytes = module.capacityBytes
        weightBytes = Int64(layers) * model.weightBytesPerLayer + (includesLMHead ? model.lmHeadBytes : 0)
        kvBytesPerToken = Int64(layers) * model.kvBytesPerTokenPerLayer
    }

    /// Bytes left for the KV cache.
    public var kvCapacityBytes: Int64 { max(0, capacityBytes - weightBytes) }

    /// Whether the weights plus `tokens` tokens of KV fit.
    public func fits(tokens: Int) -> Bool { weightBytes + Int64(tokens) * kvBytesPerToken <= capacityBytes }
}
