import PIMModule

/// Where a module's K and V values sit in a functional run: in the bytes its KV allocator hands the request
/// (`KVAllocator.address`: DPA chunks through the request's VA→PA table, or the static reservation), as the
/// timing allocates them. A request's KV is its tokens one after another, `bytesPerToken` each; inside a token,
/// for each of the module's layers, K then V, each KV head's `headDim` BF16 values in turn.
///
/// A module-wide address lands in the KV region, which starts at DRAM row `baseRow` of every bank (after the
/// weights): `channels × banks × rowBytes` bytes fill one DRAM row in every bank (a row group, docs/MAPPING.md
/// §3.7), channel by channel and, inside a channel, bank by bank.
public struct KVPlacement: Sendable {
    public let baseRow: Int
    public let bytesPerToken: Int64
    let kvHeads: Int
    let headDim: Int
    let rowBytes: Int64
    let banks: Int64
    let channelBytes: Int64
    let rowGroupBytes: Int64

    public init(module: ModuleConfig, baseRow: Int, bytesPerToken: Int64, kvHeads: Int, headDim: Int) {
        self.baseRow = baseRow
        self.bytesPerToken = bytesPerToken
        self.kvHeads = kvHeads
        self.headDim = headDim
        rowBytes = Int64(module.rowBytes)
        banks = Int64(module.banksPerChannel)
        channelBytes = banks * rowBytes
        rowGroupBytes = Int64(module.channels) * channelBytes
    }

    /// K (`kind` 0) or V (1) of token `token`, the module's layer `layer`, KV head `head`: its offset in the
    /// request's KV bytes.
    func offset(token: Int, layer: Int, kind: Int, head: Int) -> Int64 {
        Int64(token) * bytesPerToken + Int64(((layer * 2 + kind) * kvHeads + head) * headDim * 2)
    }

    /// The DRAM row and element of a module-wide KV address.
    func location(_ address: Int64) -> (row: BankStore.Row, element: Int) {
        let group = address / rowGroupBytes, inGroup = address % rowGroupBytes
        let channel = inGroup / channelBytes, bank = inGroup % channelBytes / rowBytes
        return (
            BankStore.Row(channel: Int(channel), bank: Int(bank), row: baseRow + Int(group)),
            Int(inGroup % rowBytes / 2)
        )
    }

    /// Writes one head's K or V of a token (values already stored) where the allocator put them.
    func write(
        _ values: ArraySlice<Float>, request: Int, token: Int, layer: Int, kind: Int, head: Int,
        allocator: any KVAllocator, store: inout BankStore
    ) throws(FunctionalError) {
        let base = offset(token: token, layer: layer, kind: kind, head: head)
        for (i, v) in values.enumerated() {
            let (row, element) = try location(address(request, base + Int64(2 * i), allocator, token: token))
            store.write(v, at: row, element: element)
        }
    }

    /// Reads one head's K or V of a token: at once when its bytes lie in one DRAM row (a head of up to 1 KiB at a
    /// multiple of its size, the usual case), else value by value.
    func read(
        request: Int, token: Int, layer: Int, kind: Int, head: Int, allocator: any KVAllocator, store: BankStore
    ) throws(FunctionalError) -> [Float] {
        let base = offset(token: token, layer: layer, kind: kind, head: head)
        let first = try address(request, base, allocator, token: token)
        let last = try address(request, base + Int64(2 * (headDim - 1)), allocator, token: token)
        let (row, element) = location(first)
        if last - first == Int64(2 * (headDim - 1)), location(last).row == row {
            return store.withElements(row, first: element, count: headDim) {
                Array(UnsafeBufferPointer(start: $0, count: headDim))
            }
        }
        var out = [Float](repeating: 0, count: headDim)
        for i in 0..<headDim {
            let (row, element) = try location(address(request, base + Int64(2 * i), allocator, token: token))
            out[i] = store.read(row, element: element)
        }
        return out
    }

    private func address(
        _ request: Int, _ offset: Int64, _ allocator: any KVAllocator, token: Int
    ) throws(FunctionalError) -> Int64 {
        guard let a = allocator.address(request: request, offset: offset) else {
            throw FunctionalError(
                "request \(request) holds no KV for token \(token) on this module: the functional data and the "
                    + "KV allocation disagree (a bug)")
        }
        return a
    }
}

/// A functional run that cannot go on, with what to do about it.
public struct FunctionalError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
