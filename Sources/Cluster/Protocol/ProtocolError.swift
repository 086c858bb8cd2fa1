/// Why a received message was refused. Every case reads as a sentence for the log.
public enum ProtocolError: Error, CustomStringConvertible, Sendable, Equatable {
    case empty
    case tooShort(bytes: Int)
    case badMagic
    case wrongVersion(UInt16)
    case unknownType(UInt8)
    case frameCount(type: String, got: Int, expected: Int)
    case malformedBody(type: String, reason: String)
    case payloadSize(expected: Int, got: Int)

    /// Whether the message is not a lolpim message at all (empty, too short, bad magic, another version, an
    /// unknown type): it comes from a stray or hostile client, not from a process of the run, and is dropped
    /// where such a client can reach (data, tensor-parallel and return sockets) without stopping the run.
    public var isForeign: Bool {
        switch self {
        case .empty, .tooShort, .badMagic, .wrongVersion, .unknownType: return true
        case .frameCount, .malformedBody, .payloadSize: return false
        }
    }

    public var description: String {
        switch self {
        case .empty: return "empty message"
        case .tooShort(let n): return "message of \(n) bytes is shorter than the 8-byte lolpim header"
        case .badMagic: return "not a lolpim message (bad magic bytes)"
        case .wrongVersion(let v):
            return "peer speaks lolpim protocol version \(v), this process speaks \(WireCodec.version)"
        case .unknownType(let t): return "unknown message type \(t)"
        case .frameCount(let type, let got, let expected):
            return "\(type) message has \(got) frames, expected \(expected)"
        case .malformedBody(let type, let reason): return "malformed \(type) message: \(reason)"
        case .payloadSize(let expected, let got):
            return "activation payload of \(got) bytes, expected \(expected)"
        }
    }
}

/// Counts the foreign messages (`ProtocolError.isForeign`) a socket dropped and says which to log: the first
/// five, then every thousandth, so that a flood of stray bytes cannot flood the log.
struct ForeignMessages {
    private(set) var count = 0

    /// Records one; true when this one should be logged.
    mutating func record() -> Bool {
        count += 1
        return count <= 5 || count % 1000 == 0
    }
}
