import Foundation

/// The processes one launcher started, the coordinator first and then the workers, and which of them the
/// launcher signalled itself (their non-zero exit is then not their own failure).
final class ChildProcesses {
    struct Child {
        var role: ProcessEnd.Role
        var process: Process
    }

    private(set) var all: [Child] = []
    private(set) var signalled = Set<Int32>()

    var coordinator: Process { all[0].process }
    var workers: ArraySlice<Child> { all.dropFirst() }
    var anyRunning: Bool { all.contains { $0.process.isRunning } }

    /// Starts `executable` with `arguments`. No child reads our input: a remote shell would otherwise forward
    /// it, or stop in the background.
    func spawn(_ role: ProcessEnd.Role, executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        try process.run()
        all.append(Child(role: role, process: process))
    }

    /// Sends `signal` to `process` if it still runs, and SIGCONT after it: a stopped process only acts on a
    /// signal once it continues (SIGKILL excepted).
    func send(_ signal: Int32, to process: Process) {
        guard process.isRunning else { return }
        signalled.insert(process.processIdentifier)
        kill(process.processIdentifier, signal)
        if signal != SIGKILL { kill(process.processIdentifier, SIGCONT) }
    }

    /// Sends `signal` to every child still running.
    func stopAll(_ signal: Int32) {
        for child in all { send(signal, to: child.process) }
    }

    func waitAll() { all.forEach { $0.process.waitUntilExit() } }

    /// Ends every child now: SIGTERM, `graceMs` to exit, then SIGKILL (which even a stopped process obeys).
    func terminateAll(graceMs: Int) {
        stopAll(SIGTERM)
        let end = WallClock.monotonicMs() + Int64(graceMs)
        while anyRunning && WallClock.monotonicMs() < end { usleep(20_000) }
        stopAll(SIGKILL)
        waitAll()
    }

    /// After the coordinator ended: the others leave on their own within `graceMs`; stragglers get SIGTERM,
    /// then SIGKILL 200 ms later.
    func stopStragglers(graceMs: Int) {
        let graceEnd = WallClock.monotonicMs() + Int64(graceMs)
        while anyRunning && WallClock.monotonicMs() < graceEnd { usleep(20_000) }
        terminateAll(graceMs: 200)
    }

    /// How `child` ended (it must have exited).
    func ending(_ child: Child) -> ProcessEnd { ProcessEnd(role: child.role, process: child.process) }

    /// Workers that have ended with a failure the launcher did not cause (it sent them no signal).
    func workersFailedOnTheirOwn() -> [ProcessEnd] {
        workers.filter { !$0.process.isRunning && !signalled.contains($0.process.processIdentifier) }
            .map(ending).filter(\.failed)
    }

    /// A running process's scheduler state (`R`, `S`, `D`, `T` stopped, `t` traced, …) and the CPU time it
    /// has used (clock ticks), from /proc; nil when it cannot be read.
    static func state(of pid: Int32) -> (state: Character, cpuTicks: Int64)? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        // "pid (command) state ppid …": the command may hold spaces and parentheses; the fields follow the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let state = fields[0].first, let user = Int64(fields[11]),
            let system = Int64(fields[12])
        else { return nil }
        return (state, user + system)
    }
}
