/// Static allocation: each request reserves T_max tokens of KV at admission, at consecutive fixed addresses.
/// A request never needs more; the host is involved only at request start and end.
public struct StaticKVAllocator: KVAllocator {
    public let scheme = AllocationScheme.static
    public let capacityBytes: Int64
    public let bytesPerToken: Int64
    public let maxContext: Int
    /// Tokens each held request stores now.
    private var tokens: [Int: Int] = [:]

    public init(capacityBytes: Int64, bytesPerToken: Int64, maxContext: Int) {
        self.capacityBytes = capacityBytes
        self.bytesPerToken = bytesPerToken
        self.maxContext = maxContext
    }

    var reservationBytes: Int64 { Int64(maxContext) * bytesPerToken }
    public var allocatedBytes: Int64 { Int64(tokens.count) * reservationBytes }
    public var usedBytes: Int64 { tokens.values.reduce(0) { $0 + Int64($1) } * bytesPerToken }
    public var requests: Int { tokens.count }

    public func canAdmit(prompt: Int, finalTokens: Int) -> Bool {
        finalTokens <= maxContext && allocatedBytes + reservationBytes <= capacityBytes
    }

    public mutating func admit(request: Int, prompt: Int, finalTokens: Int) throws -> [AllocationEventKind] {
        guard tokens[request] == nil else { throw AllocationError(message: "request \(request) is already admitted") }
        guard canAdmit(prompt: prompt, finalTokens: finalTokens) else {
            throw AllocationError(
                message: "no room for request \(request): \(allocatedBytes) of \(capacityBytes) bytes "
                    + "reserved, a request reserves \(reservationBytes) (T_max \(maxContext) tokens)")
        }
        tokens[request] = prompt
        return [.requestStart]
    }

    public mutating func grow(request: Int, to count: Int) throws -> [AllocationEventKind] {
        guard tokens[request] != nil else { throw AllocationError(message: "request \(request) is not admitted") }
        guard count <= maxContext else {
            throw AllocationError(message: "request \(request) grows to \(count) tokens, beyond T_max \(maxContext)")
        }
        tokens[request] = count
        return []
    }

    public mutating func release(request: Int) -> [AllocationEventKind] {
        tokens.removeValue(forKey: request) == nil ? [] : [.requestEnd]
    }
}
