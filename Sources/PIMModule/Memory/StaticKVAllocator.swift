/// Static allocation: each request reserves T_max tokens of KV at admission, at consecutive fixed addresses.
/// A request never needs more; the host is involved only at request start and end.
public struct StaticKVAllocator: KVAllocator {
    public let scheme = AllocationScheme.static
    public let capacityBytes: Int64
    public let bytesPerToken: Int64
    public let maxContext: Int
    /// Tokens each held request stores now.
    private var tokens: [Int: Int] = [:]
    /// The reservation each held request has: reservation i starts at byte i × T_max × bytesPerToken.
    private var slots: [Int: Int] = [:]

    public init(capacityBytes: Int64, bytesPerToken: Int64, maxContext: Int) {
        self.capacityBytes = capacityBytes
        self.bytesPerToken = bytesPerToken
        self.maxContext = maxContext
    }

    var reservationBytes: Int64 { Int64(maxContext) * bytesPerToken }
    /// The most requests the module can hold at once: every one reserves T_max.
    public var maxRequests: Int { reservationBytes > 0 ? Int(capacityBytes / reservationBytes) : Int.max }
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
        let taken = Set(slots.values)
        slots[request] = (0...).first { !taken.contains($0) }!
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
        slots.removeValue(forKey: request)
        return tokens.removeValue(forKey: request) == nil ? [] : [.requestEnd]
    }

    /// In the request's reservation, the lowest free one at its admission.
    public func address(request: Int, offset: Int64) -> Int64? {
        guard offset >= 0, let slot = slots[request], let held = tokens[request],
            offset < Int64(held) * bytesPerToken
        else { return nil }
        return Int64(slot) * reservationBytes + offset
    }
}
