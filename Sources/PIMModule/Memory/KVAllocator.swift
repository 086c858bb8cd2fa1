/// How a module places the KV cache of the requests it serves (docs/REFERENCE.md §2.4).
public enum AllocationScheme: String, Sendable, Hashable, Codable, CaseIterable {
    /// Every admitted request reserves KV space for the maximum context T_max at admission, at fixed
    /// physical addresses (PIM commands embed them).
    case `static`
    /// Dynamic PIM access: KV space is allocated lazily in fixed-size chunks as a request's context grows,
    /// physically non-contiguous, translated on the module by a per-request VA→PA table.
    case dpa
}

/// Something the host had to do for a module's allocator (DPA's host interventions).
public enum AllocationEventKind: String, Sendable, Hashable, Codable, CaseIterable {
    case requestStart = "request_start"
    case newChunk = "new_chunk"
    case requestEnd = "request_end"
}

public struct AllocationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A module's KV-cache allocator. Sizes are bytes of KV for the module's layers.
public protocol KVAllocator: Sendable {
    var scheme: AllocationScheme { get }
    /// Bytes available for KV on the module (capacity minus weights).
    var capacityBytes: Int64 { get }
    /// Bytes reserved or allocated to requests now.
    var allocatedBytes: Int64 { get }
    /// Bytes of KV actually held (tokens stored × bytes per token).
    var usedBytes: Int64 { get }
    /// Requests currently holding memory.
    var requests: Int { get }
    /// Whether a request with `prompt` tokens that will grow to at most `finalTokens` can be admitted
    /// without the module ever running out of memory for the requests it already holds.
    func canAdmit(prompt: Int, finalTokens: Int) -> Bool
    /// Admits a request holding `prompt` tokens that will grow to at most `finalTokens`.
    mutating func admit(request: Int, prompt: Int, finalTokens: Int) throws -> [AllocationEventKind]
    /// Grows a request's context to `tokens`.
    mutating func grow(request: Int, to tokens: Int) throws -> [AllocationEventKind]
    /// Frees everything a request holds.
    mutating func release(request: Int) -> [AllocationEventKind]
    /// The module-wide KV address of byte `offset` of a held request's KV (its tokens one after another,
    /// `offset` below the bytes its context holds), or nil when the request holds no such byte. Functional runs
    /// store K and V there (docs/MODEL.md, "Functional runs").
    func address(request: Int, offset: Int64) -> Int64?
}

extension KVAllocator {
    /// allocated / capacity.
    public var allocatedFraction: Double { capacityBytes > 0 ? Double(allocatedBytes) / Double(capacityBytes) : 0 }
    /// used / capacity: how much of the KV space holds tokens.
    public var usedFraction: Double { capacityBytes > 0 ? Double(usedBytes) / Double(capacityBytes) : 0 }
}

/// Makes the allocator of a scheme.
public enum KVAllocatorFactory {
    /// - Parameters:
    ///   - bytesPerToken: KV bytes one token takes in the module's layers.
    ///   - maxContext: T_max, tokens reserved per request by `static`.
    ///   - chunkBytes: DPA chunk size.
    public static func make(
        _ scheme: AllocationScheme, capacityBytes: Int64, bytesPerToken: Int64, maxContext: Int,
        chunkBytes: Int64
    ) -> any KVAllocator {
        switch scheme {
        case .static:
            return StaticKVAllocator(capacityBytes: capacityBytes, bytesPerToken: bytesPerToken, maxContext: maxContext)
        case .dpa:
            return DPAAllocator(capacityBytes: capacityBytes, bytesPerToken: bytesPerToken, chunkBytes: chunkBytes)
        }
    }
}
