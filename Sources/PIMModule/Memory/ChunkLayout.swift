/// Where DPA chunks fall relative to DRAM rows. A chunk is a module-wide address range spread over all
/// channels and banks like any KV data, so `channels × banks × rowBytes` bytes (one "row group") fill one DRAM
/// row in every bank. When the chunk size is a whole number of row groups (1 MB on a 32-channel, 16-bank,
/// 2 KB-row module is exactly one), chunk edges are row edges and physically scattered chunks cost nothing
/// beyond the row changes a contiguous cache has anyway. Otherwise a chunk edge inside a row group forces
/// the kernel to close the row early and open another one for the rest of that row's columns: one extra
/// ACT16 + PREA per channel at each such edge.
public struct ChunkLayout: Sendable, Equatable {
    public let rowGroupBytes: Int64
    public let chunkBytes: Int64

    public init(module: ModuleConfig, chunkBytes: Int64) {
        rowGroupBytes = Int64(module.channels * module.banksPerChannel * module.rowBytes)
        self.chunkBytes = chunkBytes
    }

    /// DRAM rows a chunk occupies in each bank (rounded up).
    public var rowsPerBank: Int64 { (chunkBytes + rowGroupBytes - 1) / rowGroupBytes }

    /// Whether chunk edges fall inside DRAM rows.
    public var splitsRows: Bool { chunkBytes % rowGroupBytes != 0 }

    /// Extra row activations per channel for a request's KV spread over `chunks` chunks: one per chunk
    /// edge that does not coincide with a row edge.
    public func extraRowActivations(chunks: Int) -> Int {
        guard chunks > 1 else { return 0 }
        var extra = 0
        for edge in 1..<chunks where (Int64(edge) * chunkBytes) % rowGroupBytes != 0 { extra += 1 }
        return extra
    }
}
