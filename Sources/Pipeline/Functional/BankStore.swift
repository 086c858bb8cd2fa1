import PIMModule

/// The DRAM of one module as far as a functional run touches it: DRAM rows of `rowBytes / 2` 16-bit elements,
/// by channel, bank and row, each created (zeroed) on its first write. Only touched rows exist, so a model's
/// share of a 32-channel module costs the bytes it places, not the module's capacity. Values are kept as
/// 32-bit floats holding what the arithmetic stores (BF16 values under `aim`).
public struct BankStore: Sendable {
    public struct Row: Hashable, Sendable {
        public var channel: Int
        public var bank: Int
        public var row: Int
    }

    /// Elements of one DRAM row (1024 for a 2 KB row of BF16 values).
    public let rowElements: Int
    private var rows: [Row: [Float]] = [:]

    public init(module: ModuleConfig) {
        rowElements = module.rowBytes / 2
    }

    /// DRAM rows written so far.
    public var touchedRows: Int { rows.count }

    /// Writes `values` into `row` from element `first` on (within the row).
    public mutating func write(_ values: ArraySlice<Float>, at row: Row, first: Int) {
        precondition(first >= 0 && first + values.count <= rowElements, "a write past the end of a DRAM row")
        rows[row, default: [Float](repeating: 0, count: rowElements)].replaceSubrange(
            first..<(first + values.count), with: values)
    }

    /// Writes one element.
    public mutating func write(_ value: Float, at row: Row, element: Int) {
        rows[row, default: [Float](repeating: 0, count: rowElements)][element] = value
    }

    /// One element (0 where nothing was written).
    public func read(_ row: Row, element: Int) -> Float { rows[row]?[element] ?? 0 }

    /// Calls `body` with `count` elements of `row` from `first` on (zeros where nothing was written).
    public func withElements<R>(
        _ row: Row, first: Int, count: Int, _ body: (UnsafePointer<Float>) -> R
    ) -> R {
        if let stored = rows[row] {
            return stored.withUnsafeBufferPointer { body($0.baseAddress! + first) }
        }
        let zeros = [Float](repeating: 0, count: count)
        return zeros.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
