import Foundation
import Synchronization

/// Wall-clock readings for time-outs and the wall-clock section of results (never for simulated time).
package enum WallClock {
    /// Monotonic milliseconds, for deadlines and heartbeats.
    package static func monotonicMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Nanoseconds since the Unix epoch, comparable across processes on one host.
    package static func realtimeNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// Set when SIGINT or SIGTERM arrives; every wait loop checks it and stops cleanly.
public enum StopSignal {
    static let requested = Atomic<Bool>(false)
    /// The signal that set `requested` (0: none yet).
    static let received = Atomic<Int32>(0)

    /// The process that started this one (a launcher), when it asked to be watched; 0: none.
    static let parent = Atomic<Int32>(0)

    /// Whether to stop: SIGINT or SIGTERM arrived, or the watched parent is gone.
    public static var isRequested: Bool { requested.load(ordering: .relaxed) || parentGone }

    /// Stop as well once process `pid`, our parent, is gone (even killed with SIGKILL, which it cannot
    /// forward): we are then re-parented, so `getppid()` no longer returns it.
    public static func watchParent(_ pid: Int32) { parent.store(pid, ordering: .relaxed) }

    /// Whether a launcher started this process and watches it (`watchParent`).
    public static var hasLauncher: Bool { parent.load(ordering: .relaxed) != 0 }

    /// Whether the watched parent is gone.
    public static var parentGone: Bool {
        let pid = parent.load(ordering: .relaxed)
        return pid != 0 && getppid() != pid
    }

    /// What asked this process to stop, in words: "SIGINT (Ctrl-C)", "SIGTERM" or its launcher's end.
    public static var cause: String {
        switch received.load(ordering: .relaxed) {
        case SIGINT: return "SIGINT (Ctrl-C)"
        case SIGTERM: return "SIGTERM"
        default: return parentGone ? "the end of the lolpim process that started it" : "a signal"
        }
    }

    /// Installs handlers for SIGINT and SIGTERM that only set the flag (async-signal-safe), and unblocks
    /// both: a parent may have started us with them blocked, and a blocked signal would never stop us.
    public static func install() {
        signal(SIGINT) { number in
            StopSignal.received.store(number, ordering: .relaxed)
            StopSignal.requested.store(true, ordering: .relaxed)
        }
        signal(SIGTERM) { number in
            StopSignal.received.store(number, ordering: .relaxed)
            StopSignal.requested.store(true, ordering: .relaxed)
        }
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigprocmask(SIG_UNBLOCK, &set, nil)
    }
}
