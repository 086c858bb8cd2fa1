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
