import Foundation
import Testing
import Cluster
import Transport

/// Helpers for tests that start real lolpim processes.
public enum Harness {
    /// The lolpim executable built beside the test bundle.
    public static var binary: String {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("lolpim").path
    }

    /// The kernel-timing store of the processes tests start (one per test run, never the user's own);
    /// a test that needs another passes LOLPIM_KERNEL_CACHE or --kernel-cache itself.
    public static let kernelCache = NSTemporaryDirectory() + "lolpim-test-kernels-\(getpid()).sqlite"

    /// A fresh directory for one test.
    public static func directory(_ name: String) -> String {
        let path = NSTemporaryDirectory() + "lolpim-test-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes a topology into `directory` and returns its path.
    public static func topology(_ yaml: String, in directory: String, name: String = "t.yaml") -> String {
        let path = directory + "/" + name
        try! yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    public struct Outcome {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// A started process whose output goes to files.
    public final class Running {
        public let process = Process()
        public let out: String, err: String

        public init(
            _ arguments: [String], in directory: String, environment: [String: String] = [:],
            executable: String = Harness.binary
        ) throws {
            let tag = UInt32.random(in: 0...UInt32.max)
            out = directory + "/out-\(tag).txt"
            err = directory + "/err-\(tag).txt"
            _ = FileManager.default.createFile(atPath: out, contents: nil)
            _ = FileManager.default.createFile(atPath: err, contents: nil)
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment
                .merging(["LOLPIM_KERNEL_CACHE": Harness.kernelCache]) { $1 }.merging(environment) { $1 }
            process.standardOutput = FileHandle(forWritingAtPath: out)
            process.standardError = FileHandle(forWritingAtPath: err)
            try process.run()
        }

        /// Waits at most `seconds`, then kills the process (a test must never hang).
        public func wait(seconds: Double) -> Outcome {
            let deadline = Date(timeIntervalSinceNow: seconds)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning {
                Issue.record("process \(process.arguments ?? []) did not exit within \(seconds) s; killing it")
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            return Outcome(
                status: process.terminationStatus,
                stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
        }
    }

    /// `lolpim coordinator` bound to `control`, writing results to `directory`/out.
    public static func coordinator(
        _ file: String, control: String, in directory: String, _ extra: [String]
    ) throws -> Running {
        try Running(["coordinator", file, "--bind", control, "--output", directory + "/out"] + extra, in: directory)
    }

    /// A test's directory, topology file and control endpoint, with a coordinator started on them.
    public struct Setup {
        public let dir: String
        public let file: String
        public let control: String
        public let coordinator: Running
    }

    /// Writes `yaml` into a fresh directory and starts `lolpim coordinator` on an ipc endpoint there.
    public static func startCoordinator(_ name: String, _ yaml: String, _ extra: [String]) throws -> Setup {
        let dir = directory(name)
        let file = topology(yaml, in: dir)
        let control = "ipc://\(dir)/control.sock"
        return Setup(
            dir: dir, file: file, control: control,
            coordinator: try coordinator(file, control: control, in: dir, extra))
    }

    /// `lolpim worker` of `rank` registering with `control`.
    public static func worker(
        rank: Int, control: String, in directory: String, _ extra: [String] = []
    ) throws -> Running {
        try Running(["worker", "--coordinator", control, "--rank", "\(rank)"] + extra, in: directory)
    }

    /// Waits (bounded) for a file to appear and returns its contents.
    public static func waitForFile(_ path: String, seconds: Double = 20) -> String? {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty { return text }
            usleep(20_000)
        }
        return nil
    }

    /// A TCP port on loopback that was free a moment ago.
    public static func freePort() throws -> Int {
        let context = try Context()
        let socket = try Socket(context, .pull)
        try socket.bind("tcp://127.0.0.1:*")
        let port = Int(socket.lastEndpoint.split(separator: ":").last!)!
        socket.close()
        return port
    }

    public static func run(_ arguments: [String], in directory: String, seconds: Double = 60) throws -> Outcome {
        try Running(arguments, in: directory).wait(seconds: seconds)
    }

    /// Processes whose command line mentions `text` (e.g. a test's unique directory).
    public static func processes(mentioning text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard pid != getpid(), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
                return false
            }
            return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(text)
        }
    }

    /// Waits (bounded) until no process mentions `text`; returns the ones left.
    public static func leftovers(mentioning text: String, within seconds: Double = 10) -> [Int32] {
        let deadline = Date(timeIntervalSinceNow: seconds)
        var left = processes(mentioning: text)
        while !left.isEmpty && Date() < deadline {
            usleep(50_000)
            left = processes(mentioning: text)
        }
        for pid in left { kill(pid, SIGKILL) }
        return left
    }

    public static func results(in directory: String) throws -> RunResults {
        try RunResults.decode(Data(contentsOf: URL(fileURLWithPath: directory + "/results.json")))
    }
}
