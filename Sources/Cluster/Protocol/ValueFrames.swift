import Pipeline
import Transport

/// The numbers a functional run moves between processes (activations, partial sums, logits), as a frame of
/// little-endian values end to end: BF16 (2 bytes, the `aim` arithmetic's stored values, exact) or IEEE binary32
/// (4 bytes). docs/PROTOCOL.md §5c.
public enum ValueFrames {
    /// The values of `rows`, one after another, `bytesPerValue` (2 or 4) each.
    public static func encode(_ rows: [[Float]], bytesPerValue: Int) -> Message {
        let count = rows.reduce(0) { $0 + $1.count }
        return Message(count: count * bytesPerValue) { buffer in
            var offset = 0
            for row in rows {
                for v in row {
                    if bytesPerValue == 2 {
                        buffer.storeBytes(of: BF16.bits(v).littleEndian, toByteOffset: offset, as: UInt16.self)
                    } else {
                        buffer.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: offset, as: UInt32.self)
                    }
                    offset += bytesPerValue
                }
            }
        }
    }

    /// Rows of `counts[i]` values each, or nil when the frame's size is not theirs.
    public static func decode(_ frame: Message, counts: [Int], bytesPerValue: Int) -> [[Float]]? {
        guard frame.count == counts.reduce(0, +) * bytesPerValue else { return nil }
        return frame.withUnsafeBytes { bytes in
            var offset = 0
            return counts.map { n in
                (0..<n).map { _ in
                    defer { offset += bytesPerValue }
                    if bytesPerValue == 2 {
                        return BF16.value(
                            UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                    }
                    return Float(
                        bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                }
            }
        }
    }
}
