import Foundation
import Testing
@testable import Transport

/// Endpoints of one kind, unique per test.
func endpoint(_ kind: String, _ name: String) -> String {
    let unique = "\(getpid())-\(name)-\(UInt32.random(in: 0...UInt32.max))"
    switch kind {
    case "inproc": return "inproc://\(unique)"
    case "ipc": return "ipc://\(NSTemporaryDirectory())lolpim-test-\(unique).sock"
    default: return "tcp://127.0.0.1:*"
    }
}

@Suite("Transport over libzmq")
struct TransportTests {
    @Test("multipart push/pull keeps frames and bytes", arguments: ["inproc", "ipc", "tcp"])
    func pushPull(kind: String) throws {
        let context = try Context()
        let pull = try Socket(context, .pull)
        try pull.set(.receiveTimeout(5000))
        try pull.bind(endpoint(kind, "pushpull"))
        let push = try Socket(context, .push)
        try push.connect(pull.lastEndpoint)
        let big = (0..<131_072).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(try push.send(bytes: [[1, 2, 3], [], big]))
        let frames = try #require(try pull.receive())
        #expect(frames.map(\.count) == [3, 0, big.count])
        #expect(frames[0].bytes == [1, 2, 3])
        #expect(frames[2].bytes == big)
    }

    @Test("router/dealer round trip addresses the peer by routing id", arguments: ["inproc", "ipc", "tcp"])
    func routerDealer(kind: String) throws {
        let context = try Context()
        let router = try Socket(context, .router)
        try router.set(.receiveTimeout(5000))
        try router.bind(endpoint(kind, "router"))
        let dealer = try Socket(context, .dealer)
        try dealer.set(.routingId(Array("rank-3".utf8)))
        try dealer.set(.receiveTimeout(5000))
        try dealer.connect(router.lastEndpoint)
        try dealer.send(bytes: [Array("hello".utf8)])
        let request = try #require(try router.receive())
        #expect(request.count == 2)
        #expect(String(decoding: request[0].bytes, as: UTF8.self) == "rank-3")
        #expect(request[1].bytes == Array("hello".utf8))
        try router.send([Message(request[0].bytes), Message(Array("welcome".utf8))])
        let reply = try #require(try dealer.receive())
        #expect(reply.map(\.bytes) == [Array("welcome".utf8)])
    }

    @Test("a received frame is forwarded without copying: the content moves")
    func forwardMoves() throws {
        let context = try Context()
        let a = try Socket(context, .pull), b = try Socket(context, .pull)
        try a.set(.receiveTimeout(5000))
        try b.set(.receiveTimeout(5000))
        try a.bind(endpoint("inproc", "a"))
        try b.bind(endpoint("inproc", "b"))
        let toA = try Socket(context, .push), toB = try Socket(context, .push)
        try toA.connect(a.lastEndpoint)
        try toB.connect(b.lastEndpoint)
        try toA.send(bytes: [Array(repeating: 9, count: 8192)])
        let frames = try #require(try a.receive())
        try toB.send(frames)
        #expect(frames[0].count == 0, "sent frames are emptied: libzmq took the buffer")
        let forwarded = try #require(try b.receive())
        #expect(forwarded[0].bytes == Array(repeating: 9, count: 8192))
    }

    @Test("receive time-outs return nil and polling times out")
    func timeouts() throws {
        let context = try Context()
        let pull = try Socket(context, .pull)
        try pull.bind(endpoint("inproc", "quiet"))
        try pull.set(.receiveTimeout(50))
        #expect(try pull.receive() == nil)
        #expect(try pull.receive(dontWait: true) == nil)
        #expect(try Poller().readable([pull], timeoutMs: 20) == [false])
    }

    @Test("poll reports the readable socket")
    func pollReadable() throws {
        let context = try Context()
        let quiet = try Socket(context, .pull), busy = try Socket(context, .pull)
        try quiet.bind(endpoint("inproc", "q"))
        try busy.bind(endpoint("inproc", "b"))
        let push = try Socket(context, .push)
        try push.connect(busy.lastEndpoint)
        try push.send(bytes: [[42]])
        #expect(try Poller().readable([quiet, busy], timeoutMs: 5000) == [false, true])
    }

    @Test("binding a port in use fails with zmq's message")
    func addressInUse() throws {
        let context = try Context()
        let first = try Socket(context, .pull)
        try first.bind("tcp://127.0.0.1:*")
        let second = try Socket(context, .pull)
        let error = #expect(throws: TransportError.self) { try second.bind(first.lastEndpoint) }
        #expect(error?.isAddressInUse == true)
        #expect(error?.description.contains("Address already in use") == true)
        #expect(error?.description.contains(first.lastEndpoint) == true)
    }

    @Test("an invalid endpoint is an error, not a crash")
    func invalidEndpoint() throws {
        let context = try Context()
        let socket = try Socket(context, .push)
        #expect(throws: TransportError.self) { try socket.connect("nonsense://x") }
    }

    @Test("TCP frames carry the peer address")
    func peerAddress() throws {
        let context = try Context()
        let pull = try Socket(context, .pull)
        try pull.set(.receiveTimeout(5000))
        try pull.bind("tcp://127.0.0.1:*")
        let push = try Socket(context, .push)
        try push.connect(pull.lastEndpoint)
        try push.send(bytes: [[1]])
        let frames = try #require(try pull.receive())
        #expect(frames[0].property("Peer-Address") == "127.0.0.1")
    }

    @Test("the maximum message size drops oversized messages")
    func maxMessageSize() throws {
        let context = try Context()
        let pull = try Socket(context, .pull)
        try pull.set(.maxMessageSize(1024))
        try pull.set(.receiveTimeout(300))
        try pull.bind("tcp://127.0.0.1:*")
        let push = try Socket(context, .push)
        try push.connect(pull.lastEndpoint)
        try push.send(bytes: [Array(repeating: 0, count: 4096)])
        #expect(try pull.receive() == nil)
    }
}

@Suite("CURVE encryption and ZAP authentication")
struct CurveTests {
    @Test("key pairs: generated keys are Z85, a secret key gives back its public key, bad text is refused")
    func keys() throws {
        let pair = try CurveKeyPair.generate()
        #expect(Curve.isZ85Key(pair.publicKey) && Curve.isZ85Key(pair.secretKey))
        #expect(CurveKeyPair(secretKey: pair.secretKey) == pair)
        #expect(CurveKeyPair(secretKey: "not a key") == nil)
        #expect(try CurveKeyPair.generate() != pair)
    }

    /// A CURVE client PUSH connected to `server`; nil keys: a plain (NULL mechanism) client.
    func client(_ context: Context, to server: String, serverKey: String, keys: CurveKeyPair?) throws -> Socket {
        let push = try Socket(context, .push)
        if let keys {
            try push.set(.curveServerKey(serverKey))
            try push.set(.curvePublicKey(keys.publicKey))
            try push.set(.curveSecretKey(keys.secretKey))
        }
        try push.set(.sendTimeout(2000))
        try push.connect(server)
        return push
    }

    @Test("only authorised keys get through; the ZAP handler names every refused key", arguments: ["ipc", "tcp"])
    func authentication(kind: String) throws {
        let context = try Context()
        let server = try CurveKeyPair.generate(), member = try CurveKeyPair.generate(),
            stranger = try CurveKeyPair.generate()
        let zap = try ZAPAuthenticator(context: context, authorized: [member.publicKey])
        defer { zap.stop() }
        let pull = try Socket(context, .pull)
        try pull.set(.curveServer(true))
        try pull.set(.curveSecretKey(server.secretKey))
        try pull.set(.zapDomain("test"))
        try pull.set(.receiveTimeout(1500))
        try pull.bind(endpoint(kind, "curve"))

        let intruders = [
            try client(context, to: pull.lastEndpoint, serverKey: server.publicKey, keys: stranger),
            try client(context, to: pull.lastEndpoint, serverKey: server.publicKey, keys: nil),
        ]
        for intruder in intruders {
            try intruder.set(.sendTimeout(300)); _ = try intruder.send(bytes: [Array("inject".utf8)])
        }
        let good = try client(context, to: pull.lastEndpoint, serverKey: server.publicKey, keys: member)
        #expect(try good.send(bytes: [Array("hello".utf8)]))
        let first = try #require(try pull.receive())
        #expect(first[0].bytes == Array("hello".utf8))
        #expect(try pull.receive() == nil, "an unauthorised client's message arrived")
        #expect(zap.refusals.contains { $0.contains(stranger.publicKey) && $0.contains("not authorised") })
    }

    @Test("a second ZAP handler on the same context is refused")
    func oneHandlerPerContext() throws {
        let context = try Context()
        let zap = try ZAPAuthenticator(context: context, authorized: [])
        defer { zap.stop() }
        #expect(throws: TransportError.self) { _ = try ZAPAuthenticator(context: context, authorized: []) }
    }

    @Test("malformed ZAP requests get an error status, not a crash")
    func malformed() {
        #expect(ZAPAuthenticator.answer([], authorized: []).reply[2] == Array("500".utf8))
        let plain = ZAPAuthenticator.answer(
            [Array("1.0".utf8), [1], [], Array("1.2.3.4".utf8), [], Array("NULL".utf8)],
            authorized: [])
        #expect(plain.reply[2] == Array("400".utf8))
        #expect(plain.refusal?.contains("did not use CURVE") == true)
    }
}
