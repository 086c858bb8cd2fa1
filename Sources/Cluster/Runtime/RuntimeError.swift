import PIMModule
import Pipeline

/// Why a coordinator or worker stopped before finishing. Messages name the peer and what to do.
public enum RuntimeError: Error, CustomStringConvertible, Sendable {
    /// A peer refused us (e.g. a protocol version mismatch or a duplicate rank).
    case refused(String)
    /// Something expected did not happen in time.
    case timeout(String)
    /// A peer stopped sending heartbeats.
    case peerSilent(String)
    /// The run was aborted, by the coordinator or because of a peer's error.
    case aborted(String)
    /// A peer sent something that is not a valid message at this point.
    case protocolViolation(String)
    /// SIGINT or SIGTERM.
    case interrupted
    /// The simulated clock passed `SimulatedTimeBudget.limitPs` (64-bit picoseconds would soon overflow).
    case simulatedTimeLimit(String)

    public var description: String {
        switch self {
        case .refused(let s): return "refused: \(s)"
        case .timeout(let s): return "time-out: \(s)"
        case .peerSilent(let s): return "peer silent: \(s)"
        case .aborted(let s): return "aborted: \(s)"
        case .protocolViolation(let s): return "protocol violation: \(s)"
        case .interrupted: return "interrupted by a signal"
        case .simulatedTimeLimit(let s): return "simulated time limit: \(s)"
        }
    }

    /// Process exit status for this error (130 for a signal, as shells do; 1 otherwise).
    public var exitCode: Int32 {
        if case .interrupted = self { return 130 }
        return 1
    }

    /// Throws `.simulatedTimeLimit` when `now` has passed the simulated-time budget.
    static func checkBudget(_ now: Picoseconds) throws(RuntimeError) {
        do { try SimulatedTimeBudget.check(now) } catch { throw .simulatedTimeLimit(error.description) }
    }
}
