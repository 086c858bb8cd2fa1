import Foundation

/// What functional and reference runs write about their logits: a digest of each step's logits, and NumPy
/// `.npy` files of them (docs/RESULTS.md, "functional").
public enum LogitFiles {
    /// FNV-1a (64 bits) over the logits' 32-bit patterns, little-endian, as 16 hex digits: equal digests mean
    /// bit-identical logits.
    public static func digest(_ logits: [Float]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for v in logits {
            var bits = v.bitPattern
            for _ in 0..<4 {
                hash = (hash ^ UInt64(bits & 0xFF)) &* 0x0000_0100_0000_01B3
                bits >>= 8
            }
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// A `.npy` file (format 1.0) of `rows` float32 rows of equal length, little-endian, C order.
    public static func npy(_ rows: [[Float]]) -> Data {
        let columns = rows.first?.count ?? 0
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows.count), \(columns)), }"
        // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64 bytes.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        for row in rows {
            for v in row {
                let b = v.bitPattern
                data.append(contentsOf: [UInt8(b & 0xFF), UInt8(b >> 8 & 0xFF), UInt8(b >> 16 & 0xFF), UInt8(b >> 24)])
            }
        }
        return data
    }
}
