import CZMQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One frame of a (possibly multipart) message, owning a `zmq_msg_t`.
///
/// Received frames are read in place through `withUnsafeBytes` (no copy). A received frame can be sent on
/// another socket as is: libzmq moves its content, so forwarding an activation never copies its bytes.
/// After a frame has been sent it is empty.
public final class Message {
    let raw: UnsafeMutablePointer<zmq_msg_t>

    /// An empty frame, ready to receive into.
    public init() {
        raw = .allocate(capacity: 1)
        zmq_msg_init(raw)
    }

    /// A frame holding a copy of `bytes` (one copy, into libzmq's buffer).
    public init(copying bytes: UnsafeRawBufferPointer) {
        raw = .allocate(capacity: 1)
        zmq_msg_init_size(raw, bytes.count)
        if bytes.count > 0, let base = bytes.baseAddress {
            memcpy(zmq_msg_data(raw), base, bytes.count)
        }
    }

    public convenience init(_ bytes: [UInt8]) {
        self.init(copying: UnsafeRawBufferPointer(start: nil, count: 0))
        bytes.withUnsafeBytes { buffer in
            zmq_msg_close(raw)
            zmq_msg_init_size(raw, buffer.count)
            if buffer.count > 0 { memcpy(zmq_msg_data(raw), buffer.baseAddress!, buffer.count) }
        }
    }

    /// A frame of `count` bytes whose content `fill` writes in place (no intermediate buffer).
    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        raw = .allocate(capacity: 1)
        zmq_msg_init_size(raw, count)
        fill(UnsafeMutableRawBufferPointer(start: zmq_msg_data(raw), count: count))
    }

    /// A frame of `count` zero bytes that shares one process-wide, never-freed, read-only buffer (up to
    /// 64 MiB; larger frames own zeroed memory) instead of owning a copy (libzmq's zero-copy
    /// `zmq_msg_init_data` with no free function): for stand-in payloads whose size matters and whose content
    /// does not. Sending it costs no fill and no user-space copy.
    public static func zeros(count: Int) -> Message {
        guard let base = ZeroBuffer.pointer(count: count) else {
            return Message(count: count) { buffer in
                if let base = buffer.baseAddress { memset(base, 0, buffer.count) }
            }
        }
        return Message(sharing: base, count: count)
    }

    private init(sharing base: UnsafeMutableRawPointer, count: Int) {
        raw = .allocate(capacity: 1)
        zmq_msg_init_data(raw, base, count, nil, nil)
    }

    deinit {
        zmq_msg_close(raw)
        raw.deallocate()
    }

    /// Number of bytes in the frame.
    public var count: Int { zmq_msg_size(raw) }

    /// Reads the frame's bytes in place.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: zmq_msg_data(raw), count: zmq_msg_size(raw)))
    }

    /// A copy of the frame's bytes.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// A metadata property of a received frame, e.g. "Peer-Address" (TCP peers) or "Socket-Type".
    public func property(_ name: String) -> String? {
        guard let value = zmq_msg_gets(raw, name) else { return nil }
        return String(cString: value)
    }

    var hasMore: Bool { zmq_msg_more(raw) != 0 }
}

/// The zero-filled memory `Message.zeros` frames point into: 64 MiB from calloc, made once (Swift
/// initialises a global once, thread-safely, with no lock afterwards) and never freed. calloc of a block this
/// large maps the kernel's zero pages, which nothing ever writes to, so it costs no physical memory.
enum ZeroBuffer {
    static let size = 64 << 20
    /// The buffer's address, 0 if calloc failed.
    static let address = UInt(bitPattern: calloc(size, 1))

    /// Memory of at least `count` zero bytes, or nil (too large, or none could be had).
    static func pointer(count: Int) -> UnsafeMutableRawPointer? {
        count <= size ? UnsafeMutableRawPointer(bitPattern: address) : nil
    }
}

extension Collection where Element == Message {
    /// Bytes of every frame together (a multipart message's size). Inlinable, so that it is specialised where it is
    /// called: taken generically, once per message sent or received, it looked up type metadata each time (5 % of
    /// a tensor-parallel run's samples).
    @inlinable public var totalBytes: Int {
        var total = 0
        for frame in self { total += frame.count }
        return total
    }
}
