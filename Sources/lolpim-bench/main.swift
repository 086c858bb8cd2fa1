// lolpim-bench: prints figures; never part of the test suite and never fails on timing.
//
//   swift run -c release lolpim-bench [transport|engine|replay|run|roofline|store|collectives|scale|all]
//                                     [--count N] [--repeats R]
//
// transport: one-way latency (half a ping-pong round trip) and messages/s (one-way stream) of a data message
//            of 8 KiB and 128 KiB payload, through our Transport + wire protocol (encode, decode, validate,
//            forward the payload frame) side by side with raw libzmq calls (zmq_send / zmq_msg_recv), over
//            ipc:// and tcp://127.0.0.1 in the same process.
// roofline:  stage evaluations per second of the roofline cost model (one micro-batch through a stage).
// engine:    commands per second of the raw command engine (a large GEMV kernel scheduled under each
//            policy, no cache).
// replay:    the AiM controller model on whole static attention operators (head-first and token-parallel, a
//            decode batch of QMSum-length contexts on cent-32ch), then on CENT device steps (the cent rung's
//            trace, softmax moves included): cycles, the share of them the fast-forward skipped, and wall time
//            with and without it (the reports are equal; the bench checks it).
// run:       wall time of `lolpim run` on the llm-72b-32k topology (32 modules, QMSum, 64 decode steps) at
//            command and at roofline fidelity, as separate processes over ipc.
// store:     the 72B compare topology (command fidelity, tp 1) with a cold kernel-timing store, the same store
//            warm, and no store: wall time, store hits and misses (each run a fresh `lolpim run` over ipc).
// collectives: the same topology (warm store) at tp 1, 2, 4 and 8 over ipc and inproc: messages, bytes and
//            wall time (collectives are one message per micro-batch and member pair).
// scale:     Topologies/llm-72b-32k-1024modules.yaml (1,024 worker processes): setup and run time, and the
//            workers' peak resident and proportional set sizes, sampled from /proc every second.
// Not in `all` (minutes each): store, collectives, scale.
import CZMQ
import Cluster
import Foundation
import PIMModule
import Pipeline
import Transport
import Workload

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A path whose two ends are used from two threads.
struct Path: @unchecked Sendable {
    let context: Context
    let endpoint: String
}

func endpoint(_ kind: String, _ tag: String) -> String {
    kind == "ipc" ? "ipc://\(NSTemporaryDirectory())lolpim-bench-\(getpid())-\(tag).sock" : "tcp://127.0.0.1:*"
}

// MARK: Ours: Transport + WireCodec

func header(requests: Int) -> MicroBatchHeader {
    MicroBatchHeader(
        microBatch: 0, step: 1, transit: Transit(readyPs: 1000, headPs: 1600, tailPs: 2000), wallSendNs: 0,
        entries: (0..<requests).map { .init(request: UInt32($0), context: 16_000) })
}

func decodeChecked(_ frames: [Message], payloadBytes: Int) -> (MicroBatchHeader, Message) {
    guard case .microBatch(let h, let p)? = try? WireCodec.decode(frames), p.count == payloadBytes else {
        fatalError("benchmark message did not decode")
    }
    return (h, p)
}

func oursStream(kind: String, payload: [UInt8], requests: Int, count: Int) throws -> Double {
    let context = try Context()
    let pull = try Socket(context, .pull)
    try pull.set(.receiveHighWaterMark(0))
    try pull.bind(endpoint(kind, "s"))
    let path = Path(context: context, endpoint: pull.lastEndpoint)
    let h = header(requests: requests)
    let sender = Thread {
        let push = try! Socket(path.context, .push)
        try! push.set(.sendHighWaterMark(0))
        try! push.connect(path.endpoint)
        payload.withUnsafeBytes { bytes in
            for _ in 0..<count { try! push.send(WireCodec.encode(.microBatch(h, payload: Message(copying: bytes)))) }
        }
    }
    let start = now()
    sender.start()
    for _ in 0..<count { _ = decodeChecked(try pull.receive()!, payloadBytes: payload.count) }
    return Double(count) / (now() - start)
}

func oursPingPong(kind: String, payload: [UInt8], requests: Int, count: Int) throws -> Double {
    let context = try Context()
    let a = try Socket(context, .pair)
    try a.bind(endpoint(kind, "p"))
    let path = Path(context: context, endpoint: a.lastEndpoint)
    let size = payload.count
    let echo = Thread {
        let b = try! Socket(path.context, .pair)
        try! b.connect(path.endpoint)
        for _ in 0..<count {
            // A worker's step: decode, validate, re-stamp, forward the payload frame without copying.
            var (h, p) = decodeChecked(try! b.receive()!, payloadBytes: size)
            h.transit.headPs += 1
            try! b.send(WireCodec.encode(.microBatch(h, payload: p)))
        }
    }
    echo.start()
    let h = header(requests: requests)
    let start = now()
    try payload.withUnsafeBytes { bytes in
        for _ in 0..<count {
            try a.send(WireCodec.encode(.microBatch(h, payload: Message(copying: bytes))))
            _ = decodeChecked(try a.receive()!, payloadBytes: size)
        }
    }
    return (now() - start) / Double(count) / 2 * 1e6
}

// MARK: Raw libzmq

final class RawContext: @unchecked Sendable {
    let handle = zmq_ctx_new()!
    deinit { zmq_ctx_term(handle) }
}

func rawEndpoint(_ socket: UnsafeMutableRawPointer) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    var size = buffer.count
    zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, &buffer, &size)
    return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

func rawReceive(_ socket: UnsafeMutableRawPointer, _ msg: UnsafeMutablePointer<zmq_msg_t>) -> Int {
    zmq_msg_init(msg)
    let n = zmq_msg_recv(msg, socket, 0)
    precondition(n >= 0)
    return Int(n)
}

func rawStream(kind: String, payload: [UInt8], count: Int) -> Double {
    let ctx = RawContext()
    let pull = zmq_socket(ctx.handle, ZMQ_PULL)!
    var zero: Int32 = 0
    zmq_setsockopt(pull, ZMQ_RCVHWM, &zero, 4)
    zmq_bind(pull, endpoint(kind, "rs"))
    let path = rawEndpoint(pull)
    let sender = Thread {
        let push = zmq_socket(ctx.handle, ZMQ_PUSH)!
        var zero: Int32 = 0
        zmq_setsockopt(push, ZMQ_SNDHWM, &zero, 4)
        zmq_connect(push, path)
        payload.withUnsafeBytes { bytes in
            for _ in 0..<count { zmq_send(push, bytes.baseAddress, bytes.count, 0) }
        }
        zmq_close(push)
    }
    let msg = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
    let start = now()
    sender.start()
    for _ in 0..<count {
        _ = rawReceive(pull, msg)
        zmq_msg_close(msg)
    }
    let rate = Double(count) / (now() - start)
    msg.deallocate()
    zmq_close(pull)
    return rate
}

func rawPingPong(kind: String, payload: [UInt8], count: Int) -> Double {
    let ctx = RawContext()
    let a = zmq_socket(ctx.handle, ZMQ_PAIR)!
    zmq_bind(a, endpoint(kind, "rp"))
    let path = rawEndpoint(a)
    let echo = Thread {
        let b = zmq_socket(ctx.handle, ZMQ_PAIR)!
        zmq_connect(b, path)
        let msg = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        for _ in 0..<count {
            _ = rawReceive(b, msg)
            zmq_msg_send(msg, b, 0)
        }
        msg.deallocate()
        zmq_close(b)
    }
    echo.start()
    let msg = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
    let start = now()
    payload.withUnsafeBytes { bytes in
        for _ in 0..<count {
            zmq_send(a, bytes.baseAddress, bytes.count, 0)
            _ = rawReceive(a, msg)
            zmq_msg_close(msg)
        }
    }
    let latency = (now() - start) / Double(count) / 2 * 1e6
    msg.deallocate()
    zmq_close(a)
    return latency
}

// MARK: Roofline

func rooflineRate() -> Double {
    let topology = try! TopologyLoader.load(path: "Topologies/default.yaml")
    let plan = try! PipelinePlan(topology: topology)
    var stage = StageSimulator(plan: plan, stage: plan.stages[0])
    let count = 200_000
    let start = now()
    for i in 0..<count {
        _ = stage.handle(depart: Picoseconds(i), contexts: [14_000 + i % 64], payloadBytes: 8192)
    }
    return Double(count) / (now() - start)
}

// MARK: Command engine

func engineRate(policy: SchedulingPolicy) -> (commands: Int64, perSecond: Double) {
    let module = ModuleConfig.cent32
    let timer = KernelTimer(module: module, policy: policy)
    let start = now()
    let timing = timer.simulate(GEMVShape(rows: 2048, columns: 8192, batch: 1), order: .inputStationary, refresh: true)
    let elapsed = now() - start
    let commands = timing.counts.reduce(0, +)
    return (commands, Double(commands) / elapsed)
}

// MARK: AiM replay

/// `program` replayed with and without the fast-forward (the reports must agree: the bench stops if not): the
/// report, and the wall seconds of each way.
func bothWays(
    _ replay: AiMTraceReplay, _ program: some AiMProgram, _ what: String
) -> (report: AiMTraceReplay.Report, fast: Double, slow: Double) {
    var start = now()
    let fast = replay.run(program)
    let fastSeconds = now() - start
    start = now()
    let slow = replay.run(program, fastForward: false)
    let slowSeconds = now() - start
    guard fast.cycles == slow.cycles, fast.commands == slow.commands, fast.channelEnd == slow.channelEnd else {
        fatalError("fast-forward changed the report of \(what)")
    }
    return (fast, fastSeconds, slowSeconds)
}

/// One static attention operator replayed with and without the fast-forward: (cycles, skipped, seconds with,
/// seconds without).
func replayRate(
    _ mapping: any AttentionMapping, _ phase: AttentionProgram.Phase, contexts: [Int], kvHeads: Int,
    group: Int
) -> (cycles: Int64, skipped: Int64, fast: Double, slow: Double) {
    let timer = KernelTimer(module: .cent32, policy: .static)
    let program = AttentionProgram(timer: timer, mapping: mapping)
    let instructions = program.program(phase, contexts: contexts, kvHeads: kvHeads, group: group, headDim: 128)
    let r = bothWays(program.replay(refresh: false), instructions, "\(mapping.name) \(phase)")
    return (r.report.cycles, r.report.fastForwardedCycles, r.fast, r.slow)
}

/// One CENT device step (`CENTProgram`: a block's whole trace, softmax moves included) replayed with and without
/// the fast-forward: (instructions, cycles, skipped, seconds with, seconds without).
func centReplayRate(
    _ model: CENTModel, _ device: CENTDevice, seqLen: Int
) -> (instructions: Int, cycles: Int64, skipped: Int64, fast: Double, slow: Double) {
    let program = CENTProgram(model: model, device: device, seqLen: seqLen).program
    let replay = AiMTraceReplay(module: .cent32, refresh: false, commit: .centPinned)
    let r = bothWays(replay, program, "\(model.name) at T = \(seqLen)")
    return (program.count, r.report.cycles, r.report.fastForwardedCycles, r.fast, r.slow)
}

// MARK: Full runs

func timedRun(topology: String, fidelity: String) throws -> Double {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
        "lolpim"
    ).path
    let text = try String(contentsOfFile: topology, encoding: .utf8)
        .replacingOccurrences(of: "level: roofline", with: "level: \(fidelity)")
    let file = NSTemporaryDirectory() + "lolpim-bench-\(getpid())-\(fidelity).yaml"
    try text.write(toFile: file, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = ["run", file, "--quiet", "--output", NSTemporaryDirectory() + "lolpim-bench-\(fidelity)"]
    process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
    let start = now()
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw CocoaError(.executableLoad) }
    return now() - start
}

// MARK: Runs of lolpim with results

/// Runs `lolpim run FILE --quiet --output DIR` with `extra` options; returns the results and the wall seconds.
func lolpimRun(_ file: String, _ extra: [String], label: String) throws -> (RunResults, Double) {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("lolpim").path
    let output = NSTemporaryDirectory() + "lolpim-bench-\(getpid())-\(label)"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = ["run", file, "--quiet", "--output", output] + extra
    process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
    let start = now()
    try process.run()
    process.waitUntilExit()
    let seconds = now() - start
    guard process.terminationStatus == 0 else { throw CocoaError(.executableLoad) }
    return (try RunResults.decode(Data(contentsOf: URL(fileURLWithPath: output + "/results.json"))), seconds)
}

/// A copy of `file` with `parallelism.tp` set (the compare topologies give none, so tp 1).
func withTP(_ file: String, _ tp: Int) throws -> String {
    let text = try String(contentsOfFile: file, encoding: .utf8)
        .replacingOccurrences(of: "parallelism:\n", with: "parallelism:\n  tp: \(tp)\n")
    let path = NSTemporaryDirectory() + "lolpim-bench-\(getpid())-tp\(tp).yaml"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Peak resident and proportional set sizes of the `lolpim worker` processes, sampled every second while
/// `running` is true, KiB: (largest RSS of one worker, largest PSS of one worker, peak sum of RSS, peak sum of PSS).
final class MemorySampler: @unchecked Sendable {
    private let lock = NSLock()
    private var peaks = (rss: 0, pss: 0, totalRSS: 0, totalPSS: 0)
    private var stop = false

    func start() {
        Thread.detachNewThread { [self] in
            while !lock.withLock({ stop }) {
                var rss = 0, pss = 0, one = (rss: 0, pss: 0)
                let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
                for entry in entries where entry.first?.isNumber == true {
                    guard let command = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8),
                        command.contains("lolpim\u{0}worker"),
                        let rollup = try? String(contentsOfFile: "/proc/\(entry)/smaps_rollup", encoding: .utf8)
                    else { continue }
                    func field(_ name: String) -> Int {
                        rollup.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                            .flatMap { Int($0.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "") } ?? 0
                    }
                    let r = field("Rss"), p = field("Pss")
                    rss += r; pss += p
                    one = (max(one.rss, r), max(one.pss, p))
                }
                lock.withLock {
                    peaks = (
                        max(peaks.rss, one.rss), max(peaks.pss, one.pss), max(peaks.totalRSS, rss),
                        max(peaks.totalPSS, pss)
                    )
                }
                sleep(1)
            }
        }
    }

    func finish() -> (rss: Int, pss: Int, totalRSS: Int, totalPSS: Int) {
        lock.withLock {
            stop = true; return peaks
        }
    }
}

// MARK: Main

let arguments = CommandLine.arguments.dropFirst()
let what = arguments.first { !$0.hasPrefix("-") } ?? "all"
let count = arguments.firstIndex(of: "--count").flatMap { Int(arguments[$0 + 1]) } ?? 20_000
let repeats = arguments.firstIndex(of: "--repeats").flatMap { Int(arguments[$0 + 1]) } ?? 5

/// Median of `repeats` measurements of one path (ours and raw are measured one after the other).
func median(_ measure: () throws -> Double) rethrows -> Double {
    var values: [Double] = []
    for _ in 0..<repeats { values.append(try measure()) }
    return values.sorted()[values.count / 2]
}

if what == "transport" || what == "all" {
    print(
        "transport benchmark: libzmq \(Context.libraryVersion); each figure is the median of \(repeats) runs of "
            + "\(count) messages; release build recommended")
    print(
        "payload   path  | ours: latency µs   msgs/s | raw zmq: latency µs   msgs/s | "
            + "ours/raw latency  raw/ours rate")
    for (label, hidden, requests) in [("8 KiB", 4096, 1), ("128 KiB", 4096, 16)] {
        let payload = (0..<(hidden * 2 * requests)).map { UInt8(truncatingIfNeeded: $0) }
        for kind in ["ipc", "tcp"] {
            // Warm up both paths once, then measure.
            _ = try oursPingPong(kind: kind, payload: payload, requests: requests, count: 500)
            _ = rawPingPong(kind: kind, payload: payload, count: 500)
            let oursLatency = try median {
                try oursPingPong(kind: kind, payload: payload, requests: requests, count: count)
            }
            let rawLatency = median { rawPingPong(kind: kind, payload: payload, count: count) }
            let oursRate = try median { try oursStream(kind: kind, payload: payload, requests: requests, count: count) }
            let rawRate = median { rawStream(kind: kind, payload: payload, count: count) }
            print(
                label.padding(toLength: 8, withPad: " ", startingAt: 0) + "  "
                    + kind.padding(toLength: 4, withPad: " ", startingAt: 0)
                    + String(
                        format: "  | %17.2f %9.0f | %20.2f %8.0f | %16.2f× %13.2f×",
                        oursLatency, oursRate, rawLatency, rawRate,
                        oursLatency / rawLatency, rawRate / oursRate))
        }
    }
}
if what == "engine" || what == "all" {
    for policy in SchedulingPolicy.allCases {
        let (commands, rate) = engineRate(policy: policy)
        print(
            String(
                format:
                    "command engine (%@): %lld commands of a 2048 × 8192 GEMV channel kernel, %.2f million commands/s",
                policy.rawValue, commands, rate / 1e6))
    }
}
if what == "replay" || what == "all" {
    // 12 requests of 9K to 20K tokens, 4 KV heads each (a tensor-parallel member of LLM-7B at tp 8).
    let contexts = (0..<12).map { 9_000 + $0 * 997 }
    print("AiM replay of static attention operators (12 requests of 9.0K–20.0K tokens, cent-32ch): MHA with 4 KV")
    print("heads, GQA with 2 KV heads of 4 query heads each")
    print("heads  partitioning  phase   cycles      skipped   wall s (fast-forward)  wall s (cycle by cycle)  speed-up")
    for (label, kvHeads, group) in [("MHA", 4, 1), ("GQA", 2, 4)] {
        for partitioning in AttentionPartitioning.attentionMappings {
            guard let mapping = partitioning.mapping else { continue }
            for phase in [AttentionProgram.Phase.score, .value] {
                let r = replayRate(mapping, phase, contexts: contexts, kvHeads: kvHeads, group: group)
                print(
                    String(
                        format: "%@    %@  %@  %10lld  %6.1f %%  %21.3f  %23.3f  %7.1f×", label,
                        partitioning.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0),
                        "\(phase)".padding(toLength: 6, withPad: " ", startingAt: 0), r.cycles,
                        100 * Double(r.skipped) / Double(r.cycles), r.fast, r.slow, r.slow / r.fast))
            }
        }
    }
    print("AiM replay of CENT device steps (CENTProgram, cent-32ch, the trace of one block step)")
    print(
        "model       blocks  T       instructions  cycles      skipped   wall s (fast-forward)  wall s (cycle by cycle)"
    )
    for (model, blocks, t) in [(CENTModel.llama2_7B, 4, 4_096), (.llama2_7B, 4, 32_768), (.llama2_70B, 1, 32_768)] {
        let r = centReplayRate(model, CENTDevice(channelsPerBlock: 32 / blocks), seqLen: t)
        print(
            String(
                format: "%@  %6d  %6d  %12d  %10lld  %6.1f %%  %21.3f  %23.3f",
                model.name.padding(toLength: 10, withPad: " ", startingAt: 0), blocks, t, r.instructions, r.cycles,
                100 * Double(r.skipped) / Double(r.cycles), r.fast, r.slow))
    }
}
if what == "run" || what == "all" {
    let topology = "Topologies/llm-72b-32k-32modules.yaml"
    for fidelity in ["command", "roofline"] {
        let seconds = try timedRun(topology: topology, fidelity: fidelity)
        print(
            String(
                format: "full run, %@ at %@ fidelity (33 processes over ipc): %.2f s wall", topology, fidelity, seconds)
        )
    }
}
if what == "functional" || what == "all" {
    // Tiny Llama-style checkpoint, 8 workers (tp 2 × pp 4) over ipc, 8 requests of 24 prompt tokens, 16 steps each.
    let text = try String(contentsOfFile: "Topologies/tiny-functional.yaml", encoding: .utf8)
        .replacingOccurrences(of: "modules: 4", with: "modules: 8")
        .replacingOccurrences(
            of: "../Tests/Fixtures", with: FileManager.default.currentDirectoryPath + "/Tests/Fixtures")
    let file = NSTemporaryDirectory() + "lolpim-bench-\(getpid())-functional.yaml"
    try text.write(toFile: file, atomically: true, encoding: .utf8)
    print("functional decoding: Topologies/tiny-functional.yaml on 8 workers (tp 2 × pp 4) over ipc, aim arithmetic")
    print("run   wall s   tokens   tokens per wall second   tokens the reference also chose")
    var rates: [Double] = []
    for run in 1...repeats {
        let (results, seconds) = try lolpimRun(file, ["--transport", "ipc"], label: "functional")
        let f = results.functional!
        let tokens = f.requests.reduce(0) { $0 + $1.generated.count }
        rates.append(Double(tokens) / seconds)
        let (agree, steps) = f.tokenAgreement
        print(String(format: "%3d   %6.2f   %6d   %22.1f   %d / %d", run, seconds, tokens, rates.last!, agree, steps))
    }
    print(String(format: "median: %.1f tokens per wall second", rates.sorted()[rates.count / 2]))
}
if what == "paper" {
    // `lolpim paper` from a cold kernel store (a fresh directory and store), each part timed from its progress line
    // to the next; `--quick` for a smoke run of the bench itself.
    let quick = arguments.contains("--quick")
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("lolpim").path
    let output = NSTemporaryDirectory() + "lolpim-bench-\(getpid())-paper"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments =
        ["paper", "--output", output, "--kernel-cache", output + "/kernels.sqlite"] + (quick ? ["--quick"] : [])
    process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
    let pipe = Pipe()
    process.standardError = pipe
    print("lolpim paper\(quick ? " --quick" : ""), cold kernel store (\(output)); each part from its start to the next")
    print("part                                              wall s")
    let start = now()
    try process.run()
    var parts: [(name: String, start: Double)] = []
    var pending = Data()
    while true {
        let chunk = pipe.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        pending.append(chunk)
        while let newline = pending.firstIndex(of: 10) {
            let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
            pending.removeSubrange(pending.startIndex...newline)
            guard line.hasPrefix("paper: "), let space = line.dropFirst(7).firstIndex(of: " ") else { continue }
            let t = now()
            if let last = parts.last {
                print(
                    last.name.padding(toLength: 48, withPad: " ", startingAt: 0)
                        + String(format: "%8.1f", t - last.start))
            }
            parts.append((String(line[line.index(after: space)...]), t))
        }
    }
    process.waitUntilExit()
    let end = now()
    if let last = parts.last {
        print(last.name.padding(toLength: 48, withPad: " ", startingAt: 0) + String(format: "%8.1f", end - last.start))
    }
    print(String(format: "whole page: %.1f s wall (exit status %d)", end - start, process.terminationStatus))
}
if what == "roofline" || what == "all" {
    print(
        String(
            format: "roofline stage model: %.0f micro-batch stage evaluations per second (default topology, stage 0)",
            rooflineRate()))
}
if what == "store" {
    let topology = "Topologies/compare/llm-72b-32k-qmsum.yaml"
    let store = NSTemporaryDirectory() + "lolpim-bench-\(getpid())-kernels.sqlite"
    print("kernel-timing store: \(topology) (command fidelity, tp 1, 32 workers over ipc)")
    for (label, options) in [
        ("cold store", ["--kernel-cache", store]), ("warm store", ["--kernel-cache", store]),
        ("no store", ["--no-kernel-cache"]),
    ] {
        let (results, seconds) = try lolpimRun(topology, options, label: label.replacingOccurrences(of: " ", with: "-"))
        let w = results.wallclock
        print(
            String(
                format: "  %@  %6.2f s wall (setup %.2f s) · store %lld hits, %lld misses · "
                    + "%.0f simulated tokens/s",
                label.padding(toLength: 10, withPad: " ", startingAt: 0), seconds, w.setupSeconds,
                w.kernelStoreHits, w.kernelStoreMisses, w.simulatedTokensPerWallSecond))
    }
    try? FileManager.default.removeItem(atPath: store)
}
if what == "collectives" {
    let topology = "Topologies/compare/llm-72b-32k-qmsum.yaml"
    print("collectives: \(topology) (command fidelity, warm kernel store) at tp 1, 2, 4, 8")
    print("transport  tp   wall s   messages   MiB sent   simulated tokens/s   results identical to tp's inproc run")
    for tp in [1, 2, 4, 8] {
        let file = try withTP(topology, tp)
        _ = try lolpimRun(file, [], label: "warm-\(tp)")  // fills the store for this split
        var reference: Data?
        for transport in ["inproc", "ipc"] {
            let (results, seconds) = try lolpimRun(file, ["--transport", transport], label: "\(transport)-\(tp)")
            let bytes = try results.simulatedSectionBytes()
            let same = reference.map { $0 == bytes ? "yes" : "NO" } ?? "(reference)"
            if reference == nil { reference = bytes }
            let w = results.wallclock
            print(
                String(
                    format: "%@  %2d  %7.2f  %9lld  %9.0f  %19.1f   %@",
                    transport.padding(toLength: 9, withPad: " ", startingAt: 0), tp,
                    seconds, w.messagesSent, Double(w.bytesSent) / 1_048_576,
                    results.simulated.throughputTokensPerS, same))
        }
    }
}
if what == "scale" {
    let topology = "Topologies/llm-72b-32k-1024modules.yaml"
    let sampler = MemorySampler()
    sampler.start()
    let (results, seconds) = try lolpimRun(topology, [], label: "scale")
    let peaks = sampler.finish()
    let w = results.wallclock
    print(
        String(
            format: "scale: %@, %d worker processes over ipc: %.1f s wall, setup %.1f s, %lld messages",
            topology, w.workers, seconds, w.setupSeconds, w.messagesSent))
    print(
        String(
            format: "  per worker: peak RSS %.1f MiB, peak PSS %.1f MiB (RSS counts the shared library pages of "
                + "every process; PSS divides them)", Double(peaks.rss) / 1024, Double(peaks.pss) / 1024))
    print(
        String(
            format: "  all workers: peak RSS %.0f MiB, peak PSS %.0f MiB", Double(peaks.totalRSS) / 1024,
            Double(peaks.totalPSS) / 1024))
}
