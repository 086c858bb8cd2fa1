import Foundation

/// What a run needs from this machine, checked before any process starts: open files, processes and
/// memory. A soft open-file limit below what the run needs is raised up to the hard limit (child processes
/// inherit it); anything else that does not fit is an error naming the limit and the fix, instead of a crash
/// or a hang half-way through starting a thousand processes.
///
/// The figures are estimates with a margin, measured on runs of 32 to 1,024 workers (docs/TESTING.md §5,
/// `lolpim-bench scale`):
/// - the coordinator holds one connection per worker on its control socket, plus the data and return
///   paths: about `workers + 4 tp + 64` descriptors;
/// - a worker holds its control, data, downstream and group connections: about `4 tp + 48`;
/// - workers as threads of one process (`inproc`) hold no sockets' descriptors but one event descriptor per
///   ZeroMQ socket: about `workers (tp + 6) + 64`;
/// - every process runs 4 threads (its own, ZeroMQ's I/O and reaper threads, and one spare);
/// - a worker process takes about `workerPrivateBytes` of memory of its own at roofline fidelity: its resident
///   set is about 28 MiB, but 25 MiB of that are the Swift runtime's and libraries' pages, shared by all
///   workers (PSS about 3.3 MiB measured at 256 and 1,024 workers).
public struct ResourceCheck: Sendable {
    public var workers: Int
    public var tp: Int
    public var inProcess: Bool

    /// Memory of one worker process's own, bytes: measured 3.3 MiB (PSS) at roofline fidelity, with a margin
    /// for command fidelity's kernel caches and the kernel's per-process structures.
    public static let workerPrivateBytes: Int64 = 8 << 20

    public init(workers: Int, tp: Int, inProcess: Bool) {
        self.workers = workers
        self.tp = tp
        self.inProcess = inProcess
    }

    /// Open files the launching process (and the coordinator it starts) needs.
    public var coordinatorFiles: Int {
        inProcess ? workers * (tp + 6) + 64 : workers + 4 * tp + 64
    }

    /// Open files one worker process needs.
    public var workerFiles: Int { 4 * tp + 48 }

    /// Threads the run adds for this user.
    public var threads: Int { inProcess ? workers * 2 + 8 : (workers + 1) * 4 }

    /// Memory the workers need, bytes.
    public var memoryBytes: Int64 { Int64(workers) * Self.workerPrivateBytes }

    /// Raises the soft open-file limit if needed and possible; throws when a limit cannot hold the run.
    /// `localWorkers`: the workers run on this machine (threads and memory are checked too).
    public func enforce(localWorkers: Bool = true) throws {
        let files = max(coordinatorFiles, workerFiles)
        var limit = rlimit()
        if getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0, limit.rlim_cur != unlimited, limit.rlim_cur < rlim_t(files) {
            guard limit.rlim_max == unlimited || limit.rlim_max >= rlim_t(files) else {
                throw ResourceError.openFiles(needed: files, limit: Int(limit.rlim_max), workers: workers)
            }
            limit.rlim_cur = rlim_t(files)
            guard setrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else {
                throw ResourceError.openFiles(needed: files, limit: Int(limit.rlim_cur), workers: workers)
            }
        }
        guard localWorkers else { return }
        if getrlimit(RLIMIT_NPROC_VALUE, &limit) == 0, limit.rlim_cur != unlimited,
            limit.rlim_cur < rlim_t(threads + Self.threadsOfThisUser())
        {
            throw ResourceError.processes(needed: threads, limit: Int(limit.rlim_cur), workers: workers)
        }
        if let available = Self.availableMemory(), memoryBytes > available {
            throw ResourceError.memory(needed: memoryBytes, available: available, workers: workers)
        }
    }

    /// Threads this user already runs (RLIMIT_NPROC counts them); 0 when /proc cannot tell.
    static func threadsOfThisUser() -> Int {
        let uid = getuid()
        // Only the current process is cheap to read precisely; other processes of the user are counted by
        // their /proc entries' owner (one entry per process, its threads read from its status).
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
        var total = 0
        for entry in entries where entry.first?.isNumber == true {
            guard let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8),
                let uidLine = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }),
                uidLine.split(whereSeparator: \.isWhitespace).dropFirst().first == Substring("\(uid)"),
                let threads = status.split(separator: "\n").first(where: { $0.hasPrefix("Threads:") })
                    .flatMap({ Int($0.split(whereSeparator: \.isWhitespace).last ?? "") })
            else { continue }
            total += threads
        }
        return total
    }

    /// MemAvailable from /proc/meminfo, bytes; nil where there is none.
    static func availableMemory() -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
            let kib = Int64(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "")
        else { return nil }
        return kib * 1024
    }
}

/// RLIM_INFINITY (all bits set), which Swift cannot import as a literal.
private let unlimited = rlim_t.max

#if canImport(Glibc)
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
private let RLIMIT_NPROC_VALUE = __rlimit_resource_t(__RLIMIT_NPROC.rawValue)
#else
private let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
private let RLIMIT_NPROC_VALUE = RLIMIT_NPROC
#endif

public enum ResourceError: Error, CustomStringConvertible {
    case openFiles(needed: Int, limit: Int, workers: Int)
    case processes(needed: Int, limit: Int, workers: Int)
    case memory(needed: Int64, available: Int64, workers: Int)

    public var description: String {
        switch self {
        case .openFiles(let needed, let limit, let workers):
            return "a run of \(workers) workers needs about \(needed) open files in one process, and the hard limit "
                + "is \(limit): raise it (as root: `ulimit -Hn \(needed)`, or `nofile` in /etc/security/limits.conf), "
                + "then run again"
        case .processes(let needed, let limit, let workers):
            return "a run of \(workers) workers starts about \(needed) threads, and this user may run \(limit) in all "
                + "(RLIMIT_NPROC): raise it with `ulimit -u \(needed * 2)`, or run fewer modules per machine (--hosts)"
        case .memory(let needed, let available, let workers):
            return String(
                format: "a run of %d workers needs about %.1f GiB of memory and %.1f GiB are available: "
                    + "run fewer modules per machine (--hosts) or free memory", workers,
                Double(needed) / 1_073_741_824, Double(available) / 1_073_741_824)
        }
    }
}
