import PIMModule
import Pipeline

/// Why a launcher, coordinator or worker stopped before finishing. Messages name the peer or process and what
/// to do; the cases carry what callers match on (which peer, which process, how it ended) as values.
public enum RuntimeError: Error, CustomStringConvertible, Sendable {
    /// A peer refused us (e.g. a protocol version mismatch or a duplicate rank).
    case refused(String)
    /// Something expected did not happen in time.
    case timeout(String)
    /// A peer sent nothing for longer than the heartbeat time-out.
    case peerSilent(Peer, seconds: Int)
    /// The run was aborted, by the coordinator or because of a peer's error.
    case aborted(String)
    /// The coordinator stopped the run (its `shutdown` message), for `reason`.
    case stoppedByCoordinator(reason: String)
    /// The launcher stopped this coordinator because a process of the run ended (`process`); `lolpim run`
    /// hands the ending over (`CoordinatorOptions.stopReasonFile`) with the stop signal.
    case stoppedByLauncher(ProcessEnd)
    /// A process of the run ended on its own (or hung), seen by the launcher.
    case processEnded(ProcessEnd)
    /// Workers ended on their own; `coordinatorStopped`: the launcher then stopped the coordinator itself.
    case workersEnded([ProcessEnd], coordinatorStopped: Bool)
    /// The coordinator exited with an error it printed itself.
    case coordinatorFailed(ProcessEnd)
    /// A process of the run could not be started.
    case spawnFailed(String)
    /// A peer sent something that is not a valid message at this point.
    case protocolViolation(String)
    /// SIGINT or SIGTERM (or the launching process is gone: `StopSignal`).
    case interrupted
    /// The simulated clock passed `SimulatedTimeBudget.limitPs` (64-bit picoseconds would soon overflow).
    case simulatedTimeLimit(String)

    /// The other end of a connection.
    public enum Peer: Sendable, Equatable, CustomStringConvertible {
        case coordinator(endpoint: String)
        case worker(rank: Int, host: String, pid: Int32)

        public var description: String {
            switch self {
            case .coordinator(let endpoint): return "the coordinator at \(endpoint)"
            case .worker(let rank, let host, let pid): return "worker \(rank) (\(host), pid \(pid))"
            }
        }
    }

    public var description: String {
        switch self {
        case .refused(let s): return "refused: \(s)"
        case .timeout(let s): return "time-out: \(s)"
        case .peerSilent(.coordinator(let endpoint), let seconds):
            return "peer silent: the coordinator at \(endpoint) sent nothing for \(seconds) s (killed, hung or "
                + "unreachable)"
        case .peerSilent(let peer, let seconds):
            return "peer silent: \(peer) sent no heartbeat for \(seconds) s (killed, hung or unreachable)"
        case .aborted(let s): return "aborted: \(s)"
        case .stoppedByCoordinator(let reason): return "aborted: coordinator stopped the run: \(reason)"
        case .stoppedByLauncher(let end): return "stopped: \(end)"
        case .processEnded(let end): return "\(end)"
        case .workersEnded(let ends, let stopped):
            let note = stopped ? ["the coordinator was stopped 1 s after the first of them ended"] : []
            return "workers failed: " + (ends.map(\.description) + note).joined(separator: "; ")
        case .coordinatorFailed(let end): return "\(end); see its message above"
        case .spawnFailed(let why): return "could not start a process: \(why)"
        case .protocolViolation(let s): return "protocol violation: \(s)"
        case .interrupted: return "interrupted by \(StopSignal.cause)"
        case .simulatedTimeLimit(let s): return "simulated time limit: \(s)"
        }
    }

    /// Process exit status for this error (130 for a signal, as shells do; 1 otherwise).
    public var exitCode: Int32 {
        if case .interrupted = self { return 130 }
        return 1
    }
}
