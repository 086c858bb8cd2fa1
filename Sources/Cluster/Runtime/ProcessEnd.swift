import Foundation

/// How a process of a run ended and which process it was: the one way a process's death is reported (by the
/// launcher on stderr, by the coordinator in results.json). For example `worker 2 (rank 2, pid 4242) was killed
/// by signal 9 (SIGKILL)` or `the coordinator (pid 4240) was stopped for more than 3 s`.
public struct ProcessEnd: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Role: Sendable, Equatable, Codable {
        case coordinator
        /// A worker; `host` when a remote shell runs it there (the pid is then the shell's).
        case worker(rank: Int, host: String?)
    }

    public enum Cause: Sendable, Equatable, Codable {
        case exited(status: Int32)
        case signal(Int32)
        /// Stopped (SIGSTOP, SIGTSTP, a debugger) for longer than `seconds`; the launcher then ended it.
        case stopped(seconds: Int)
        /// Alive but without any CPU time for `seconds` after every worker had ended; the launcher then ended it.
        case hung(seconds: Int)
    }

    public var role: Role
    public var pid: Int32
    public var cause: Cause

    public init(role: Role, pid: Int32, cause: Cause) {
        self.role = role
        self.pid = pid
        self.cause = cause
    }

    /// The ending of a process that has exited (`Process` after `waitUntilExit`).
    public init(role: Role, process: Process) {
        let status = process.terminationStatus
        self.init(
            role: role, pid: process.processIdentifier,
            cause: process.terminationReason == .uncaughtSignal ? .signal(status) : .exited(status: status))
    }

    /// "worker 2 (rank 2, pid 4242)", "worker 2 on node1 (rank 2, remote shell pid 4242)", "the coordinator
    /// (pid 4240)".
    public var process: String {
        switch role {
        case .coordinator: return "the coordinator (pid \(pid))"
        case .worker(let rank, nil): return "worker \(rank) (rank \(rank), pid \(pid))"
        case .worker(let rank, let host?):
            return "worker \(rank) on \(SafeText.clip(host, limit: 100)) (rank \(rank), remote shell pid \(pid))"
        }
    }

    /// "exited with status 1", "was killed by signal 9 (SIGKILL)", …
    public var how: String {
        switch cause {
        case .exited(let status):
            // ssh exits 255 for its own failures (host unknown or unreachable, login refused).
            if case .worker(_, _?) = role, status == 255 {
                return "exited with status 255 (the remote shell's own failure: host unreachable or login refused?)"
            }
            return "exited with status \(status)"
        case .signal(let signal):
            return "was killed by signal \(signal)" + (Self.signalName(signal).map { " (\($0))" } ?? "")
        case .stopped(let seconds):
            return "was stopped (SIGSTOP or SIGTSTP) for more than \(seconds) s, so lolpim run ended it"
        case .hung(let seconds):
            return "made no progress for \(seconds) s after every worker had ended, so lolpim run ended it"
        }
    }

    public var description: String { "\(process) \(how)" }

    /// Whether the process failed (anything but exit status 0).
    public var failed: Bool { cause != .exited(status: 0) }

    /// SIGKILL, SIGTERM, … for the common signals.
    public static func signalName(_ signal: Int32) -> String? {
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
            SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
            SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
            SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ", SIGSYS: "SIGSYS",
        ]
        return names[signal]
    }
}
