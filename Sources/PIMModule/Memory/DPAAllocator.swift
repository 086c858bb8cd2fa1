/// Dynamic PIM access (DPA): KV is allocated lazily in chunks (1 MB by default) from one free list per
/// module, and each request keeps a VA→PA table of its chunks. A request gets a new chunk only when its
/// KV crosses a chunk boundary, so at most its last chunk is partly empty; all its chunks return to the
/// free list when it ends. The host acts at request start (allocating the prompt's chunks in that one
/// intervention), on each new chunk while decoding, and at request end.
///
/// One free list per module (not per channel): under token-parallel partitioning every chunk of a request's
/// KV is spread over all channels of the module alike, so chunks are module-wide address ranges.
///
/// Admission never over-commits: a request is admitted only if the chunks it will need at its final length,
/// plus the chunks still to be allocated for the requests already held, fit in the free list.
public struct DPAAllocator: KVAllocator {
    public let scheme = AllocationScheme.dpa
    public let capacityBytes: Int64
    public let bytesPerToken: Int64
    public let chunkBytes: Int64
    /// Physical chunk indices not in use, lowest first out (deterministic).
    private var free: [Int32]
    /// VA→PA table of each request: its chunks in virtual order.
    public private(set) var tables: [Int: [Int32]] = [:]
    private var tokens: [Int: Int] = [:]
    /// Chunks each request will need at its final length (its commitment).
    private var committed: [Int: Int] = [:]

    public init(capacityBytes: Int64, bytesPerToken: Int64, chunkBytes: Int64) {
        precondition(chunkBytes > 0 && bytesPerToken > 0)
        self.capacityBytes = capacityBytes
        self.bytesPerToken = bytesPerToken
        self.chunkBytes = chunkBytes
        free = Array((0..<Int32(max(0, capacityBytes / chunkBytes))).reversed())
    }

    public var totalChunks: Int { Int(capacityBytes / chunkBytes) }
    public var freeChunks: Int { free.count }
    public var allocatedBytes: Int64 { Int64(totalChunks - free.count) * chunkBytes }
    public var usedBytes: Int64 { tokens.values.reduce(0) { $0 + Int64($1) } * bytesPerToken }
    public var requests: Int { tokens.count }
    /// Entries of all VA→PA tables (one per allocated chunk).
    public var translationEntries: Int { tables.values.reduce(0) { $0 + $1.count } }

    func chunks(for count: Int) -> Int { Int((Int64(count) * bytesPerToken + chunkBytes - 1) / chunkBytes) }

    /// Chunks already promised to held requests but not yet allocated.
    private var outstanding: Int {
        committed.reduce(0) { $0 + max(0, $1.value - (tables[$1.key]?.count ?? 0)) }
    }

    public func canAdmit(prompt: Int, finalTokens: Int) -> Bool {
        chunks(for: max(prompt, finalTokens)) + outstanding <= free.count
    }

    public mutating func admit(request: Int, prompt: Int, finalTokens: Int) throws -> [AllocationEventKind] {
        guard tokens[request] == nil else { throw AllocationError(message: "request \(request) is already admitted") }
        guard canAdmit(prompt: prompt, finalTokens: finalTokens) else {
            throw AllocationError(
                message: "no room for request \(request): needs \(chunks(for: finalTokens)) chunks, "
                    + "\(free.count) free, \(outstanding) promised to running requests")
        }
        committed[request] = chunks(for: max(prompt, finalTokens))
        tables[request] = []
        tokens[request] = 0
        // The prompt's chunks are set up in the same intervention as the request's start.
        _ = try grow(request: request, to: prompt)
        return [.requestStart]
    }

    public mutating func grow(request: Int, to count: Int) throws -> [AllocationEventKind] {
        guard let table = tables[request] else { throw AllocationError(message: "request \(request) is not admitted") }
        let needed = chunks(for: count)
        guard needed - table.count <= free.count else {
            throw AllocationError(
                message: "request \(request) needs \(needed - table.count) more chunks, \(free.count) free")
        }
        // The lowest free chunks (the end of the descending list), lowest first.
        let new = max(0, needed - table.count)
        tables[request]!.append(contentsOf: free.suffix(new).reversed())
        free.removeLast(new)
        let events = [AllocationEventKind](repeating: .newChunk, count: new)
        committed[request] = max(committed[request] ?? 0, needed)
        tokens[request] = count
        return events
    }

    /// Through the request's VA→PA table: its chunk `offset / chunkBytes` is physical chunk `table[…]`.
    public func address(request: Int, offset: Int64) -> Int64? {
        guard offset >= 0, let table = tables[request], offset / chunkBytes < table.count else { return nil }
        return Int64(table[Int(offset / chunkBytes)]) * chunkBytes + offset % chunkBytes
    }

    public mutating func release(request: Int) -> [AllocationEventKind] {
        guard let table = tables.removeValue(forKey: request) else { return [] }
        tokens.removeValue(forKey: request)
        committed.removeValue(forKey: request)
        // Return chunks so that the lowest index is handed out next: the list is kept sorted, descending, and the
        // request's chunks, sorted alike, are merged into it in one pass (the list holds thousands of chunks).
        let returned = table.sorted(by: >)
        var merged: [Int32] = []
        merged.reserveCapacity(free.count + returned.count)
        var i = 0, j = 0
        while i < free.count || j < returned.count {
            if j == returned.count || (i < free.count && free[i] > returned[j]) {
                merged.append(free[i])
                i += 1
            } else {
                merged.append(returned[j])
                j += 1
            }
        }
        free = merged
        return [.requestEnd]
    }
}
