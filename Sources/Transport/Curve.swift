import CZMQ

/// A CURVE key pair (Curve25519, as libzmq uses it), each key as 40 Z85 characters.
///
/// CURVE encrypts a connection and authenticates both ends: the client must know the server's public key,
/// and the server learns the client's public key during the handshake, which a ZAP handler
/// (`ZAPAuthenticator`) accepts or refuses.
public struct CurveKeyPair: Sendable, Equatable {
    public let publicKey: String
    public let secretKey: String

    /// A fresh random key pair. Fails when libzmq was built without CURVE.
    public static func generate() throws -> CurveKeyPair {
        try Curve.requireCurve()
        var pub = [CChar](repeating: 0, count: 41), sec = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&pub, &sec) == 0 else { throw TransportError.last("zmq_curve_keypair") }
        return CurveKeyPair(publicKey: text(pub), secretKey: text(sec))
    }

    /// The pair of a secret key (its public key derived). Nil when `secretKey` is not a valid Z85 key.
    public init?(secretKey: String) {
        guard Curve.isZ85Key(secretKey), (try? Curve.requireCurve()) != nil else { return nil }
        var pub = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&pub, secretKey) == 0 else { return nil }
        self.init(publicKey: text(pub), secretKey: secretKey)
    }

    init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}

public enum Curve {
    /// Whether this libzmq can do CURVE (it needs libsodium or its own tweetnacl).
    public static var isAvailable: Bool { zmq_has("curve") == 1 }

    static func requireCurve() throws {
        guard isAvailable else {
            throw TransportError(code: ENOTSUP, operation: "CURVE (this libzmq was built without it)")
        }
    }

    /// Whether `key` looks like a Z85-encoded 32-byte key: 40 characters of the Z85 alphabet.
    public static func isZ85Key(_ key: String) -> Bool {
        let alphabet = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")
        return key.count == 40 && key.allSatisfy(alphabet.contains)
    }

    /// The Z85 text of a 32-byte binary key (as a ZAP request carries it).
    public static func z85(_ key: [UInt8]) -> String? {
        guard key.count == 32 else { return nil }
        var out = [CChar](repeating: 0, count: 41)
        return key.withUnsafeBufferPointer { zmq_z85_encode(&out, $0.baseAddress, 32) } == nil ? nil : text(out)
    }
}

/// A zero-terminated C string buffer as text.
func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
