import Workload

/// What one module must hold: its layers' weights (and the LM head on the last stage) plus the KV cache of
/// every request for its layers, reserved for the request's whole length (prompt + decode steps).
public struct MemoryPlan: Sendable, Equatable, Codable {
    public var capacityBytes: Int64
    public var weightBytes: Int64
    public var kvBytes: Int64

    public var neededBytes: Int64 { weightBytes + kvBytes }
    public var fits: Bool { neededBytes <= capacityBytes }
    public var usedFraction: Double { Double(neededBytes) / Double(capacityBytes) }

    public init(model: ModelConfig, module: ModuleConfig, layers: Int, includesLMHead: Bool,
                tokensPerRequest: [Int]) {
        capacityBytes = module.capacityBytes
        weightBytes = Int64(layers) * model.weightBytesPerLayer + (includesLMHead ? model.lmHeadBytes : 0)
        let tokens = tokensPerRequest.reduce(Int64(0)) { $0 + Int64($1) }
        kvBytes = tokens * Int64(layers) * model.kvBytesPerTokenPerLayer
    }
}
