import Foundation

/// One safetensors file (the format of HuggingFace checkpoints): an 8-byte little-endian header length, a JSON
/// header naming each tensor's dtype, shape and byte range in the data that follows, then the data. lolpim reads the
/// header whole and a tensor's values by range, never the whole file; every offset is checked against the file.
/// Dtypes BF16, F16 and F32, widened to `Float`. docs/MODEL.md, "Models from checkpoints".
public struct SafeTensorsFile: Sendable {
    public enum DType: String, Sendable, CaseIterable {
        case bf16 = "BF16", f16 = "F16", f32 = "F32"
        public var bytes: Int { self == .f32 ? 4 : 2 }
    }

    public struct Tensor: Sendable, Equatable {
        public var dtype: DType
        public var shape: [Int]
        /// Bytes of the tensor's data, counted from the start of the file.
        public var bytes: Range<Int>
        public var elements: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let tensors: [String: Tensor]
    /// The header's `__metadata__` (string keys and values), if any.
    public let metadata: [String: String]

    /// The largest header read (the format's own limit is 100 MB).
    public static let maxHeaderBytes = 100_000_000

    /// Reads and checks `path`'s header.
    public init(path: String) throws(ModelFileError) {
        self.path = path
        let (handle, size) = try Self.open(path)
        defer { close(handle) }
        guard size >= 8, let lengthBytes = InputFile.bytes(handle, at: 0, count: 8) else {
            throw ModelFileError(file: path, "truncated: \(size) bytes, shorter than the 8-byte header length")
        }
        let length = lengthBytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length >= 2, length <= UInt64(Self.maxHeaderBytes), Int(length) <= size - 8 else {
            throw ModelFileError(
                file: path, "header length \(length) does not fit the file (\(size) bytes; at most 100 MB of header)")
        }
        guard let header = InputFile.bytes(handle, at: 8, count: Int(length)),
            let object = try? JSONSerialization.jsonObject(with: Data(header)), let json = object as? [String: Any]
        else { throw ModelFileError(file: path, "the header is not a JSON object") }
        let dataStart = 8 + Int(length), dataSize = size - dataStart
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in json {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            tensors[name] = try Self.tensor(value, name: name, file: path, dataStart: dataStart, dataSize: dataSize)
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// A header entry checked: a known dtype, a shape of non-negative sizes, offsets within the data whose length is
    /// the shape's bytes.
    static func tensor(
        _ value: Any, name: String, file: String, dataStart: Int, dataSize: Int
    ) throws(ModelFileError) -> Tensor {
        guard let entry = value as? [String: Any], let type = entry["dtype"] as? String,
            let shapeValues = entry["shape"] as? [Any], let offsetValues = entry["data_offsets"] as? [Any]
        else { throw ModelFileError(file: file, item: name, "expected dtype, shape and data_offsets") }
        guard let dtype = DType(rawValue: type) else {
            throw ModelFileError(
                file: file, item: name,
                "unsupported dtype \(type); lolpim reads " + DType.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let shape = shapeValues.compactMap { $0 as? Int }, offsets = offsetValues.compactMap { $0 as? Int }
        guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }), offsets.count == 2 else {
            throw ModelFileError(file: file, item: name, "shape and data_offsets must be lists of whole numbers")
        }
        var elements = 1
        for n in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: n)
            guard !overflow, product <= dataSize else {
                throw ModelFileError(file: file, item: name, "shape \(shape) is larger than the file's data")
            }
            elements = product
        }
        guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
            throw ModelFileError(
                file: file, item: name, "data_offsets \(offsets) lie outside the file's \(dataSize) bytes of data")
        }
        guard offsets[1] - offsets[0] == elements * dtype.bytes else {
            throw ModelFileError(
                file: file, item: name,
                "data_offsets \(offsets) hold \(offsets[1] - offsets[0]) bytes; shape \(shape) of \(type) needs "
                    + "\(elements * dtype.bytes)")
        }
        return Tensor(dtype: dtype, shape: shape, bytes: (dataStart + offsets[0])..<(dataStart + offsets[1]))
    }

    /// The values `elements` (in row-major order) of tensor `name`, widened to Float.
    public func read(_ name: String, elements: Range<Int>? = nil) throws(ModelFileError) -> [Float] {
        guard let t = tensors[name] else { throw ModelFileError(file: path, item: name, "no such tensor") }
        let range = elements ?? 0..<t.elements
        guard range.lowerBound >= 0, range.upperBound <= t.elements else {
            throw ModelFileError(file: path, item: name, "elements \(range) outside its \(t.elements)")
        }
        let (handle, _) = try Self.open(path)
        defer { close(handle) }
        let start = t.bytes.lowerBound + range.lowerBound * t.dtype.bytes
        guard let raw = InputFile.bytes(handle, at: start, count: range.count * t.dtype.bytes) else {
            throw ModelFileError(file: path, item: name, "truncated: its data could not be read")
        }
        return Self.widen(raw, t.dtype)
    }

    /// The checkpoint opened as every input is (`InputFile.openForRanges`: a regular file, not a directory or device).
    static func open(_ path: String) throws(ModelFileError) -> (Int32, Int) {
        do { return try InputFile.openForRanges(path, what: "safetensors file") } catch { throw ModelFileError(error) }
    }

    /// Little-endian values of `dtype` as Float: BF16 is the top half of an F32; F16 by its fields.
    static func widen(_ bytes: [UInt8], _ dtype: DType) -> [Float] {
        switch dtype {
        case .f32:
            return stride(from: 0, to: bytes.count, by: 4).map { i in
                Float(
                    bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16
                        | UInt32(bytes[i + 3]) << 24)
            }
        case .bf16:
            return stride(from: 0, to: bytes.count, by: 2).map { i in
                Float(bitPattern: (UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8) << 16)
            }
        case .f16:
            return stride(from: 0, to: bytes.count, by: 2).map { i in
                halfToFloat(UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8)
            }
        }
    }

    /// IEEE 754 binary16 to binary32, subnormals, infinities and NaN included.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int(h >> 10 & 0x1F), fraction = Float(h & 0x3FF)
        switch exponent {
        case 0: return sign * fraction * 0x1p-24
        case 31: return fraction == 0 ? sign * .infinity : .nan
        default: return sign * (1 + fraction / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }
}
