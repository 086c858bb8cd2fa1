@testable import Cluster
import Foundation
import Pipeline
import TestSupport
import Testing
import Transport
import Workload

func roundTrip(_ message: WireMessage) throws -> WireMessage {
    // Copy the frames as a receiver would get them.
    try WireCodec.decode(WireCodec.encode(message).map { Message($0.bytes) })
}

func decodeBytes(_ frames: [[UInt8]]) -> ProtocolError? {
    do {
        _ = try WireCodec.decode(frames.map(Message.init))
        return nil
    } catch {
        return error
    }
}

@Suite("Wire protocol")
struct WireCodecTests {
    let topology = try! TopologyLoader.parse(yaml: minimalTopology, file: "t.yaml")

    @Test("control messages round-trip")
    func control() throws {
        let hello = Hello(
            rank: 3, dataEndpoint: "tcp://127.0.0.1:4000", tpEndpoint: "tcp://127.0.0.1:4001", hostname: "h", pid: 42,
            software: "x")
        guard case .hello(let h) = try roundTrip(.hello(hello)) else { Issue.record("kind"); return }
        #expect(h == hello)
        let config = Config(
            rank: 1, topology: topology, downstream: "ipc:///x", group: ["ipc:///t"], heartbeatIntervalMs: 5,
            heartbeatTimeoutMs: 6)
        guard case .config(let c) = try roundTrip(.config(config)) else { Issue.record("kind"); return }
        #expect(c == config)
        guard case .heartbeat = try roundTrip(.heartbeat) else { Issue.record("kind"); return }
        let state = CollectivePorts.State(startPs: 123, egressFreePs: 45, ingressFreePs: 67)
        let chunk = CollectiveHeader(key: .init(microBatch: 2, step: 3), sender: 1, chunks: 2, state: state)
        guard case .collective(let ch, let payload) = try roundTrip(.collective(chunk, payload: Message([9, 8, 7])))
        else {
            Issue.record("kind"); return
        }
        #expect(ch == chunk && ch.state == state && payload.bytes == [9, 8, 7])
        guard case .finish(let f) = try roundTrip(.finish(Finish(microBatches: 12))), f.microBatches == 12 else {
            Issue.record("kind"); return
        }
        guard case .shutdown(let s) = try roundTrip(.shutdown(Shutdown(reason: "r"))) else {
            Issue.record("kind"); return
        }
        #expect(s.reason == "r")
        let plan = try PipelinePlan(topology: topology)
        let report = StatsReport(rank: 0, stage: StageStats(stage: plan.stages[0]), wall: WallStats())
        guard case .stats(let r) = try roundTrip(.stats(report)) else { Issue.record("kind"); return }
        #expect(r == report)
    }

    @Test("text from a peer is bounded and never carries control characters")
    func peerText() throws {
        func decodeHello(_ hostname: String) -> ProtocolError? {
            let hello = Hello(rank: 0, dataEndpoint: "e", tpEndpoint: "t", hostname: hostname, pid: 1, software: "s")
            do {
                _ = try WireCodec.decode(WireCodec.encode(.hello(hello)))
                return nil
            } catch {
                return error
            }
        }
        #expect(decodeHello("node-7") == nil)
        let huge = try #require(decodeHello(String(repeating: "h", count: 20 << 20)))
        #expect("\(huge)".contains("exceeds the limit"))
        #expect("\(try #require(decodeHello(String(repeating: "h", count: 1000))))".contains("longer than 255"))
        let escape = try #require(decodeHello("h\u{1B}[2J\nlolpim: error: forged"))
        #expect(
            "\(escape)".contains("control characters") && !"\(escape)".contains("\u{1B}")
                && !"\(escape)".contains("\n"))
        // Free text is kept, cut and escaped.
        let report = ErrorReport(
            rank: 1,
            message: "bad\nlolpim: error: forged\u{1B}[31m"
                + String(
                    repeating: "x",
                    count: 10_000))
        guard case .error(let decoded) = try WireCodec.decode(WireCodec.encode(.error(report))) else {
            Issue.record("not an error message")
            return
        }
        #expect(!decoded.message.contains("\n") && !decoded.message.contains("\u{1B}"))
        #expect(decoded.message.hasPrefix("bad\\u{a}lolpim: error: forged") && decoded.message.count < 4200)
    }

    @Test("micro-batch header and payload round-trip")
    func microBatch() throws {
        let header = MicroBatchHeader(
            microBatch: 2, step: 7, transit: Transit(readyPs: 123_456_789, headPs: 123_457_000, tailPs: 123_458_000),
            wallSendNs: 99,
            entries: [.init(request: 4, context: 1000), .init(request: 5, context: 2000)])
        let payload = Message(Array(repeating: 0xAB, count: 16384))
        guard case .microBatch(let h, let p) = try roundTrip(.microBatch(header, payload: payload)) else {
            Issue.record("kind")
            return
        }
        #expect(h == header)
        #expect(p.bytes == Array(repeating: 0xAB, count: 16384))
    }

    @Test("invalid frames are refused with a reason")
    func refusals() {
        let valid = WireCodec.encode(.heartbeat)[0].bytes
        #expect(decodeBytes([]) == .empty)
        #expect(decodeBytes([[1, 2, 3]]) == .tooShort(bytes: 3))
        #expect(decodeBytes([Array("XXXX".utf8) + valid[4...]]) == .badMagic)
        var wrongVersion = valid
        wrongVersion[4] = 99
        #expect(decodeBytes([wrongVersion]) == .wrongVersion(99))
        #expect(decodeBytes([wrongVersion])!.description.contains("version 99"))
        var unknown = valid
        unknown[6] = 200
        #expect(decodeBytes([unknown]) == .unknownType(200))
        #expect(decodeBytes([valid, [1]]) == .frameCount(type: "heartbeat", got: 2, expected: 1))
        var hello = valid
        hello[6] = WireMessage.Kind.hello.rawValue
        if case .malformedBody(let type, _)? = decodeBytes([hello + Array("{\"rank\": 1}".utf8)]) {
            #expect(type == "hello")
        } else {
            Issue.record("a hello without its fields must be refused")
        }
        let header = MicroBatchHeader(
            microBatch: 0, step: 0, transit: Transit(readyPs: 1, headPs: 1, tailPs: 1), wallSendNs: 0,
            entries: [.init(request: 0, context: 1)])
        let frames = WireCodec.encode(.microBatch(header, payload: Message([0, 0])))
        let truncated = Array(frames[0].bytes.dropLast(3))
        if case .malformedBody? = decodeBytes([truncated, [0, 0]]) {
        } else {
            Issue.record("truncated header accepted")
        }
        #expect(decodeBytes([frames[0].bytes]) == .frameCount(type: "microBatch", got: 1, expected: 2))
    }

    @Test("100,000 random and mutated frames never trap (fixed seed)")
    func fuzz() {
        var rng = SplitMix64(seed: 2024)
        let header = MicroBatchHeader(
            microBatch: 1, step: 1, transit: Transit(readyPs: 5, headPs: 6, tailPs: 7), wallSendNs: 0,
            entries: [.init(request: 1, context: 9), .init(request: 2, context: 9)])
        let seeds: [[[UInt8]]] = [
            WireCodec.encode(.heartbeat).map(\.bytes),
            WireCodec.encode(
                .hello(Hello(rank: 1, dataEndpoint: "e", tpEndpoint: "t", hostname: "h", pid: 1, software: "s"))
            ).map(\.bytes),
            WireCodec.encode(.microBatch(header, payload: Message([1, 2, 3]))).map(\.bytes),
            WireCodec.encode(
                .collective(
                    CollectiveHeader(
                        key: .init(microBatch: 1, step: 2), sender: 1, chunks: 1,
                        state: .init(startPs: 99, egressFreePs: 9, ingressFreePs: 0)),
                    payload: Message([4, 5]))
            ).map(\.bytes),
        ]
        var accepted = 0
        for i in 0..<100_000 {
            var frames: [[UInt8]]
            if i % 4 == 0 {
                let count = Int(rng.next() % 3) + 1
                frames = (0..<count).map { _ in
                    (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                }
            } else {
                frames = seeds[Int(rng.next() % UInt64(seeds.count))]
                let f = Int(rng.next() % UInt64(frames.count))
                switch rng.next() % 3 {
                case 0 where !frames[f].isEmpty: frames[f].removeLast(Int(rng.next() % UInt64(frames[f].count)) + 1)
                case 1 where !frames[f].isEmpty:
                    let at = Int(rng.next() % UInt64(frames[f].count))
                    frames[f][at] = UInt8(truncatingIfNeeded: rng.next())
                default: frames[f] += [UInt8(truncatingIfNeeded: rng.next())]
                }
            }
            if decodeBytes(frames) == nil { accepted += 1 }
        }
        // Mutations inside a micro-batch's numbers or a JSON string can stay valid; garbage must not.
        #expect(accepted < 100_000 / 2)
    }
}
