import Foundation
import Pipeline
import Transport

/// Encodes and decodes `WireMessage`s. Frame 0 starts with an 8-byte header: magic "LPIM", protocol version
/// (UInt16 little-endian), message type (UInt8), reserved (0). Control messages carry a JSON body after the
/// header in frame 0; a micro-batch carries a binary header in frame 0 and the activation bytes in frame 1.
/// Decoding validates everything and never traps: a bad message is a `ProtocolError`.
public enum WireCodec {
    /// 2: micro-batch entries carry flags (first / last decode step of a request).
    /// 3: tensor parallelism: `collective` messages, `tpEndpoint` in hello, `group` in config.
    /// 4: one `collective` message per micro-batch and member pair: the sender's state and all its chunks.
    /// 7: a micro-batch carries its transit (ready, head, tail) instead of a depart time; the collective state
    ///    carries the sender's pipeline egress (`network:`).
    /// 10: `partialSums` messages (functional runs); a functional micro-batch's payload holds real values.
    public static let version: UInt16 = 10
    static let magic: [UInt8] = Array("LPIM".utf8)
    static let headerBytes = 8
    /// Largest JSON body accepted (bytes): config and stats carry a topology and a timeline.
    static let maxBodyBytes = 64 << 20
    /// Largest body of the small control messages (hello, ready, finish, shutdown, error).
    static let maxSmallBodyBytes = 64 << 10

    // MARK: Encoding

    public static func encode(_ message: WireMessage) -> [Message] {
        switch message {
        case .hello(let body): return [control(.hello, body)]
        case .config(let body): return [control(.config, body)]
        case .ready(let body): return [control(.ready, body)]
        case .heartbeat: return [header(.heartbeat)]
        case .busy: return [header(.busy)]
        case .finish(let body): return [control(.finish, body)]
        case .stats(let body): return [control(.stats, body)]
        case .shutdown(let body): return [control(.shutdown, body)]
        case .error(let body): return [control(.error, body)]
        case .microBatch(let h, let payload):
            let size = headerBytes + WireCodec.microBatchFixedBytes + WireCodec.microBatchEntryBytes * h.entries.count
            let frame = Message(count: size) { buffer in
                var w = ByteWriter(buffer)
                w.header(.microBatch)
                w.put(h.step)
                w.put(h.microBatch)
                w.put(h.transit.readyPs)
                w.put(h.transit.headPs)
                w.put(h.transit.tailPs)
                w.put(h.wallSendNs)
                w.put(UInt32(h.entries.count))
                for e in h.entries {
                    w.put(e.request)
                    w.put(e.context)
                    w.put(e.flags)
                }
            }
            return [frame, payload]
        case .collective(let h, let payload):
            let frame = Message(count: headerBytes + CollectiveHeader.bytes) { buffer in
                var w = ByteWriter(buffer)
                w.header(.collective)
                w.put(h.key.step)
                w.put(h.key.microBatch)
                w.put(h.sender)
                w.put(h.chunks)
                w.put(h.startPs)
                w.put(h.egressFreePs)
                w.put(h.ingressFreePs)
                w.put(h.forwardFreePs)
            }
            return [frame, payload]
        case .partialSums(let h, let payload):
            let frame = Message(count: headerBytes + PartialSumsHeader.bytes) { buffer in
                var w = ByteWriter(buffer)
                w.header(.partialSums)
                w.put(h.key.step.step)
                w.put(h.key.step.microBatch)
                w.put(h.key.index)
                w.put(h.sender)
                w.put(UInt32(h.exact ? 1 : 0))
            }
            return [frame, payload]
        }
    }

    private static func header(_ kind: WireMessage.Kind) -> Message {
        Message(count: headerBytes) { buffer in
            var w = ByteWriter(buffer)
            w.header(kind)
        }
    }

    private static func control<T: Encodable>(_ kind: WireMessage.Kind, _ body: T) -> Message {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Our own value types always encode; a failure here is a programming error.
        let json = try! encoder.encode(body)
        return Message(count: headerBytes + json.count) { buffer in
            var w = ByteWriter(buffer)
            w.header(kind)
            json.withUnsafeBytes { w.put(bytes: $0) }
        }
    }

    // MARK: Decoding

    public static func decode(_ frames: [Message]) throws(ProtocolError) -> WireMessage {
        guard let first = frames.first else { throw .empty }
        let kind = try first.withUnsafeBytes { bytes in
            Result { () throws(ProtocolError) in try decodeHeader(bytes) }
        }.get()
        let expectedFrames = [.microBatch, .collective, .partialSums].contains(kind) ? 2 : 1
        guard frames.count == expectedFrames else {
            throw .frameCount(type: "\(kind)", got: frames.count, expected: expectedFrames)
        }
        switch kind {
        case .heartbeat, .busy:
            guard first.count == headerBytes else {
                throw .malformedBody(
                    type: "\(kind)", reason: "expected no body, found \(first.count - headerBytes) bytes")
            }
            return kind == .busy ? .busy : .heartbeat
        case .finish: return .finish(try json(Finish.self, first, kind, limit: maxSmallBodyBytes))
        case .hello: return .hello(try json(Hello.self, first, kind, limit: maxSmallBodyBytes).checked())
        case .config: return .config(try json(Config.self, first, kind).checked())
        case .ready: return .ready(try json(Ready.self, first, kind, limit: maxSmallBodyBytes))
        case .stats: return .stats(try json(StatsReport.self, first, kind))
        case .shutdown: return .shutdown(try json(Shutdown.self, first, kind, limit: maxSmallBodyBytes).checked())
        case .error: return .error(try json(ErrorReport.self, first, kind, limit: maxSmallBodyBytes).checked())
        case .microBatch:
            let header = try first.withUnsafeBytes { bytes in
                Result { () throws(ProtocolError) in try microBatchHeader(bytes) }
            }.get()
            return .microBatch(header, payload: frames[1])
        case .collective:
            let header = try first.withUnsafeBytes { bytes in
                Result { () throws(ProtocolError) in try collectiveHeader(bytes) }
            }.get()
            return .collective(header, payload: frames[1])
        case .partialSums:
            let header = try first.withUnsafeBytes { bytes in
                Result { () throws(ProtocolError) in try partialSumsHeader(bytes) }
            }.get()
            return .partialSums(header, payload: frames[1])
        }
    }

    private static func partialSumsHeader(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) -> PartialSumsHeader {
        guard bytes.count == headerBytes + PartialSumsHeader.bytes else {
            throw .malformedBody(
                type: "partialSums",
                reason: "header of \(bytes.count) bytes, expected \(headerBytes + PartialSumsHeader.bytes)")
        }
        var r = ByteReader(bytes, offset: headerBytes)
        let step: UInt32 = r.get(), microBatch: UInt32 = r.get(), index: UInt32 = r.get(), sender: UInt32 = r.get()
        let exact: UInt32 = r.get()
        guard exact <= 1 else {
            throw .malformedBody(type: "partialSums", reason: "exact flag \(exact), expected 0 or 1")
        }
        return PartialSumsHeader(
            key: .init(step: .init(microBatch: microBatch, step: step), index: index), sender: sender, exact: exact == 1
        )
    }

    private static func collectiveHeader(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) -> CollectiveHeader {
        guard bytes.count == headerBytes + CollectiveHeader.bytes else {
            throw .malformedBody(
                type: "collective",
                reason: "header of \(bytes.count) bytes, expected \(headerBytes + CollectiveHeader.bytes)")
        }
        var r = ByteReader(bytes, offset: headerBytes)
        let step: UInt32 = r.get(), microBatch: UInt32 = r.get()
        let sender: UInt32 = r.get(), chunks: UInt32 = r.get()
        let state = CollectivePorts.State(
            startPs: r.get(), egressFreePs: r.get(), ingressFreePs: r.get(), forwardFreePs: r.get())
        guard chunks <= CollectiveHeader.maxChunks else {
            throw .malformedBody(
                type: "collective",
                reason: "\(chunks) chunks is more than \(CollectiveHeader.maxChunks)")
        }
        guard state.startPs >= 0, state.egressFreePs >= 0, state.ingressFreePs >= 0, state.forwardFreePs >= 0 else {
            throw .malformedBody(type: "collective", reason: "negative simulated time")
        }
        return CollectiveHeader(
            key: .init(microBatch: microBatch, step: step), sender: sender,
            chunks: chunks, state: state)
    }

    static func decodeHeader(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) -> WireMessage.Kind {
        guard bytes.count >= headerBytes else { throw .tooShort(bytes: bytes.count) }
        guard bytes[0] == magic[0], bytes[1] == magic[1], bytes[2] == magic[2], bytes[3] == magic[3] else {
            throw .badMagic
        }
        let version = UInt16(bytes[4]) | UInt16(bytes[5]) << 8
        guard version == Self.version else { throw .wrongVersion(version) }
        guard let kind = WireMessage.Kind(rawValue: bytes[6]) else { throw .unknownType(bytes[6]) }
        guard bytes[7] == 0 else {
            throw .malformedBody(type: "\(kind)", reason: "reserved header byte is \(bytes[7]), expected 0")
        }
        return kind
    }

    private static func json<T: Decodable>(
        _ type: T.Type, _ frame: Message, _ kind: WireMessage.Kind,
        limit: Int = maxBodyBytes
    ) throws(ProtocolError) -> T {
        guard frame.count - headerBytes <= limit else {
            throw .malformedBody(type: "\(kind)", reason: "body of \(frame.count) bytes exceeds the limit of \(limit)")
        }
        let data = frame.withUnsafeBytes { Data($0[headerBytes...]) }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw .malformedBody(type: "\(kind)", reason: SafeText.clip(Self.describe(error), limit: 300))
        }
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c),
            DecodingError.dataCorrupted(let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? c.debugDescription : "field '\(path)': \(c.debugDescription)"
        default: return "\(error)"
        }
    }

    private static func microBatchHeader(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) -> MicroBatchHeader {
        var r = ByteReader(bytes, offset: headerBytes)
        guard bytes.count >= headerBytes + WireCodec.microBatchFixedBytes else {
            throw .malformedBody(type: "microBatch", reason: "header of \(bytes.count) bytes is too short")
        }
        let step: UInt32 = r.get()
        let microBatch: UInt32 = r.get()
        let transit = Transit(readyPs: r.get(), headPs: r.get(), tailPs: r.get())
        let wall: UInt64 = r.get()
        let count: UInt32 = r.get()
        guard count >= 1, count <= WireCodec.microBatchMaxEntries else {
            throw .malformedBody(
                type: "microBatch", reason: "\(count) requests is outside 1…\(WireCodec.microBatchMaxEntries)")
        }
        let expected = headerBytes + WireCodec.microBatchFixedBytes + Int(count) * WireCodec.microBatchEntryBytes
        guard bytes.count == expected else {
            throw .malformedBody(
                type: "microBatch", reason: "\(count) requests need \(expected) header bytes, found \(bytes.count)")
        }
        guard transit.readyPs >= 0, transit.headPs >= transit.readyPs, transit.tailPs >= transit.readyPs else {
            throw .malformedBody(
                type: "microBatch",
                reason: "transit times ready \(transit.readyPs), head \(transit.headPs), tail \(transit.tailPs) ps "
                    + "are negative or before the activation was ready")
        }
        var entries: [MicroBatchHeader.Entry] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            let request: UInt32 = r.get()
            let context: UInt32 = r.get()
            let flags: UInt32 = r.get()
            guard flags & ~(MicroBatchHeader.Entry.first | MicroBatchHeader.Entry.last) == 0, context >= 1 else {
                throw .malformedBody(
                    type: "microBatch", reason: "request \(request): flags \(flags) or context \(context) invalid")
            }
            entries.append(.init(request: request, context: context, flags: flags))
        }
        return MicroBatchHeader(
            microBatch: microBatch, step: step, transit: transit, wallSendNs: wall,
            entries: entries)
    }
}

/// Little-endian writer into a buffer sized by the caller.
struct ByteWriter {
    let buffer: UnsafeMutableRawBufferPointer
    var offset = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    mutating func header(_ kind: WireMessage.Kind) {
        for byte in WireCodec.magic { put(byte) }
        put(WireCodec.version)
        put(kind.rawValue)
        put(UInt8(0))
    }

    mutating func put<T: FixedWidthInteger>(_ value: T) {
        buffer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
    }

    mutating func put(bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + bytes.count)]).copyMemory(from: bytes)
        offset += bytes.count
    }
}

/// Little-endian reader; callers check the length first.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    var offset: Int

    init(_ buffer: UnsafeRawBufferPointer, offset: Int) {
        self.buffer = buffer
        self.offset = offset
    }

    mutating func get<T: FixedWidthInteger>() -> T {
        let value = buffer.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }
}

extension WireCodec {
    /// Bytes of a data message's header frame after the common 8-byte header, before its entries:
    /// step u32, micro-batch u32, depart ps i64, wall ns u64, count u32.
    static let microBatchFixedBytes = 4 + 4 + 3 * 8 + 8 + 4
    /// Bytes of one entry: request u32, context u32, flags u32.
    static let microBatchEntryBytes = 12
    /// Upper bound on requests per micro-batch accepted from the wire.
    static let microBatchMaxEntries = 1 << 20
}
