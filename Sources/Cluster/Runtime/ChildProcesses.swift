import Foundation

/// The processes one launcher started, the coordinator first and then the workers, and which of them the
/// launcher signalled itself (their non-zero exit is then not their own failure).
final class ChildProcesses {
    private(set) var all: [(label: String, process: Process)] = []
    private(set) var signalled = Set<Int32>()

    var coordinator: Process { all[0].process }
    var workers: ArraySlice<(label: String, process: Process)> { all.dropFirst() }
    var anyRunning: Bool { all.contains { $0.process.isRunning } }

    /// Starts `executable` with `arguments`. No child reads our input: a remote shell would otherwise forward
    /// it, or stop in the background.
    func spawn(_ label: String, executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        try process.run()
        all.append((label, process))
    }

    /// Sends `signal` to every child still running.
    func stopAll(_ signal: Int32) {
        for (_, p) in all where p.isRunning {
            signalled.insert(p.processIdentifier)
            kill(p.processIdentifier, signal)
        }
    }

    func waitAll() { all.forEach { $0.process.waitUntilExit() } }

    /// After the coordinator ended: the others leave on their own within `graceMs`; stragglers get SIGTERM,
    /// then SIGKILL 200 ms later.
    func stopStragglers(graceMs: Int) {
        let graceEnd = WallClock.monotonicMs() + Int64(graceMs)
        while anyRunning && WallClock.monotonicMs() < graceEnd { usleep(20_000) }
        stopAll(SIGTERM)
        usleep(200_000)
        stopAll(SIGKILL)
        waitAll()
    }
}
