import Foundation
import GRDB
import PIMModule
import Synchronization

/// The kernel-timing store in a SQLite file (docs/KERNEL-STORE.md), shared by every worker of a run and by
/// every later run, sweep, compare and `lolpim kernel` on this host. Many processes read and write it at once:
/// WAL journal, a busy time-out, one transaction per recorded kernel (SQLite makes each all or nothing).
///
/// Nothing in the file is trusted: when the store is first used it checks (under a lock file, so that only
/// one process repairs) that the file is SQLite, carries lolpim's application id and schema version, and
/// passes `PRAGMA quick_check`; a corrupt or foreign file, or a store of another schema version, is renamed
/// aside with a warning and an empty store takes its place. Timings are keyed on the texts of their key
/// themselves (a model context's row, then the kernel text under it, each unique), so a lookup finds exactly
/// the kernel and context asked for. Every row read must have the expected shape, or it counts as a miss (and
/// the fresh timing replaces it).
///
/// The store opens its file on first use, so runs that time no kernel at command level never touch it. If
/// it cannot be used at all (an unwritable directory, a disk error), it warns once and answers nothing:
/// kernels are then simulated as without a store, and results do not change.
public final class SQLiteKernelStore: KernelTimingStore {
    /// `PRAGMA application_id` of a lolpim kernel store: ASCII "LPKS".
    public static let applicationID: Int32 = 0x4C50_4B53
    /// Version of the tables below; a file with another version is set aside and rebuilt. Version 1 keyed
    /// timings on SHA-256 digests of the key's texts; version 2 keys them on the texts themselves.
    public static let schemaVersion = 2

    public let path: String
    private let warn: @Sendable (String) -> Void

    private enum State {
        case closed
        case open(DatabasePool)
        case unusable
    }
    private let state = Mutex<State>(.closed)
    /// Row ids of the model contexts this process has found in the file, by context text.
    private let contexts = Mutex<[String: Int64]>([:])
    /// Timings this process has read from the file or written to it: a key's timing never changes (a change of
    /// rules changes the key), and the studies ask for the same kernels run after run (a SQLite read costs far
    /// more than the look-up here).
    private let known = Mutex<[KernelKey: KernelTiming]>([:])
    private let warned = Mutex(false)

    public init(path: String, warn: @escaping @Sendable (String) -> Void = SQLiteKernelStore.printWarning) {
        self.path = path
        self.warn = warn
    }

    public static let printWarning: @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data("lolpim: warning: \(message)\n".utf8))
    }

    // MARK: KernelTimingStore

    public func timing(_ key: KernelKey) -> KernelTiming? {
        if let timing = known.withLock({ $0[key] }) { return timing }
        guard let pool = usablePool() else { return nil }
        do {
            guard let context = try contextID(key.context, pool: pool, recording: false) else { return nil }
            let row = try pool.read { db in
                try Row.fetchOne(
                    db,
                    sql: "SELECT context, kernel, cycles, counts, loop_order FROM kernels "
                        + "WHERE context = ? AND kernel = ?", arguments: [context, key.kernel])
            }
            guard let row, let timing = Self.timing(row, context: context, kernel: key.kernel) else { return nil }
            known.withLock { $0[key] = timing }
            return timing
        } catch {
            failed("could not read the kernel store \(path): \(error)")
            return nil
        }
    }

    public func record(_ key: KernelKey, _ timing: KernelTiming) {
        guard let pool = usablePool() else { return }
        do {
            guard let context = try contextID(key.context, pool: pool, recording: true) else { return }
            let counts = timing.counts.map(String.init).joined(separator: ",")
            try pool.write { db in
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO kernels (context, kernel, cycles, counts, loop_order, recorded)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        context, key.kernel, timing.cycles, counts, timing.order.rawValue,
                        Date().timeIntervalSince1970,
                    ])
            }
            known.withLock { $0[key] = timing }
        } catch {
            failed("could not write to the kernel store \(path): \(error)")
        }
    }

    /// A row as a timing, if it has the expected shape and is the kernel asked for. Kernel times and command
    /// counts are never negative; a boundary (`KernelTimer.boundary`: what a unit costs after another beyond
    /// the two alone) may be.
    static func timing(_ row: Row, context: Int64, kernel: String) -> KernelTiming? {
        guard let rowContext = row["context"] as Int64?, rowContext == context,
            let rowKernel = row["kernel"] as String?, rowKernel == kernel,
            let cycles = row["cycles"] as Int64?,
            let text = row["counts"] as String?, let orderText = row["loop_order"] as String?,
            let order = LoopOrder(rawValue: orderText)
        else { return nil }
        let counts = text.split(separator: ",", omittingEmptySubsequences: false).compactMap { Int64($0) }
        let signed = kernel.hasPrefix("boundary ")
        guard counts.count == AiMCommandKind.allCases.count,
            signed || (cycles >= 0 && counts.allSatisfy { $0 >= 0 })
        else { return nil }
        return KernelTiming(cycles: cycles, counts: counts, order: order)
    }

    // MARK: Opening, checking, repairing

    /// The open database, opening (and if need be repairing) it on first use; nil once it proved unusable.
    private func usablePool() -> DatabasePool? {
        state.withLock { state in
            switch state {
            case .open(let pool): return pool
            case .unusable: return nil
            case .closed:
                do {
                    let pool = try openChecked()
                    state = .open(pool)
                    return pool
                } catch {
                    state = .unusable
                    warn("kernel store \(path) cannot be used (\(error)); kernels are simulated without it")
                    return nil
                }
            }
        }
    }

    /// The database, for `lolpim cache`: throws instead of running without it.
    func pool() throws -> DatabasePool {
        if let pool = usablePool() { return pool }
        throw KernelStoreError.unusable(path: path)
    }

    private func failed(_ message: String) {
        let first = warned.withLock { done in
            defer { done = true }
            return !done
        }
        if first { warn(message + " (further store errors are not reported; results are not affected)") }
    }

    private func openChecked() throws -> DatabasePool {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let lock = open(path + ".lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw KernelStoreError.lockFile(path: path + ".lock", errno: errno) }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else { throw KernelStoreError.lockFile(path: path + ".lock", errno: errno) }
        defer { flock(lock, LOCK_UN) }
        if FileManager.default.fileExists(atPath: path), let problem = Self.problem(at: path) {
            let aside = path + ".corrupt-\(Int(Date().timeIntervalSince1970))-\(getpid())"
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            try FileManager.default.moveItem(atPath: path, toPath: aside)
            warn("kernel store \(path) \(problem); set aside as \(aside), starting an empty store")
        }
        let pool = try DatabasePool(path: path, configuration: Self.configuration)
        try pool.write { db in
            try db.execute(
                sql: """
                    PRAGMA application_id = \(Self.applicationID);
                    PRAGMA user_version = \(Self.schemaVersion);
                    CREATE TABLE IF NOT EXISTS contexts (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, description TEXT NOT NULL UNIQUE);
                    CREATE TABLE IF NOT EXISTS kernels (
                        context INTEGER NOT NULL REFERENCES contexts (id), kernel TEXT NOT NULL,
                        cycles INTEGER NOT NULL, counts TEXT NOT NULL, loop_order TEXT NOT NULL, recorded REAL NOT NULL,
                        UNIQUE (context, kernel));
                    CREATE TABLE IF NOT EXISTS runs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, finished REAL NOT NULL, command TEXT NOT NULL,
                        hits INTEGER NOT NULL, misses INTEGER NOT NULL);
                    """)
        }
        return pool
    }

    /// Why the file at `path` is not a usable store, or nil. Read-only: a foreign file is not modified.
    static func problem(at path: String) -> String? {
        var configuration = Configuration()
        configuration.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db -> String? in
                let application = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
                if application == 0 && tables.isEmpty { return nil }  // an empty file: ours to set up
                guard application == applicationID else {
                    return "is not a lolpim kernel store (SQLite application id \(application))"
                }
                guard version == schemaVersion else {
                    return "has schema version \(version), this lolpim uses \(schemaVersion)"
                }
                let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
                guard check == ["ok"] else {
                    return "failed its integrity check (\(check.prefix(3).joined(separator: "; ")))"
                }
                guard Set(tables).isSuperset(of: ["contexts", "kernels", "runs"]) else { return "lacks its tables" }
                return nil
            }
        } catch {
            return "is not a readable SQLite database (\(error))"
        }
    }

    static var configuration: Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.maximumReaderCount = 2
        configuration.prepareDatabase { db in
            // WAL with NORMAL: a commit is atomic and durable against a process crash; only a power loss may
            // lose the last commits (a cache can afford that).
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        return configuration
    }

    /// The row id of a model context in the file (its text is unique there). When `recording`, a context not
    /// yet in the file is added; otherwise it is nil, and nothing can be stored under it. Ids are never reused
    /// (AUTOINCREMENT), so one this process remembers cannot come to name another context after a `clear`.
    private func contextID(_ context: String, pool: DatabasePool, recording: Bool) throws -> Int64? {
        if let known = contexts.withLock({ $0[context] }) { return known }
        let select = "SELECT id FROM contexts WHERE description = ?"
        var id = try pool.read { db in try Int64.fetchOne(db, sql: select, arguments: [context]) }
        if id == nil && recording {
            id = try pool.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO contexts (description) VALUES (?)", arguments: [context])
                return try Int64.fetchOne(db, sql: select, arguments: [context])
            }
        }
        if let id { contexts.withLock { $0[context] = id } }
        return id
    }

    // MARK: For `lolpim cache`

    /// Entries by kind, the file's size and the last run's lookups.
    public func statistics() throws -> KernelStoreStatistics {
        let pool = try pool()
        var stats = try pool.read { db in
            var stats = KernelStoreStatistics(path: path)
            stats.contexts = try Int.fetchOne(db, sql: "SELECT count(*) FROM contexts") ?? 0
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT substr(kernel, 1, instr(kernel, ' ') - 1) AS kind, count(*) AS n FROM kernels GROUP BY kind
                    """)
            {
                stats.entries[row["kind"] ?? "?"] = row["n"] ?? 0
            }
            let last = "SELECT finished, command, hits, misses FROM runs ORDER BY id DESC LIMIT 1"
            if let run = try Row.fetchOne(db, sql: last) {
                stats.lastRun = .init(
                    finished: Date(timeIntervalSince1970: run["finished"] ?? 0),
                    command: run["command"] ?? "", hits: run["hits"] ?? 0, misses: run["misses"] ?? 0)
            }
            return stats
        }
        stats.bytes = ["", "-wal", "-shm"].reduce(Int64(0)) { total, suffix in
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + suffix)
            return total + ((attributes?[.size] as? NSNumber)?.int64Value ?? 0)
        }
        return stats
    }

    /// Records the lookups of a finished run (`lolpim cache stats` shows the last one).
    public func recordRun(command: String, hits: Int64, misses: Int64) {
        guard let pool = usablePool() else { return }
        do {
            try pool.write { db in
                try db.execute(
                    sql: "INSERT INTO runs (finished, command, hits, misses) VALUES (?, ?, ?, ?)",
                    arguments: [Date().timeIntervalSince1970, command, hits, misses])
            }
        } catch {
            failed("could not write to the kernel store \(path): \(error)")
        }
    }

    /// Removes every entry; returns how many kernels there were.
    public func clear() throws -> Int {
        let pool = try pool()
        let removed = try pool.write { db -> Int in
            let n = try Int.fetchOne(db, sql: "SELECT count(*) FROM kernels") ?? 0
            try db.execute(sql: "DELETE FROM kernels; DELETE FROM contexts; DELETE FROM runs")
            return n
        }
        contexts.withLock { $0.removeAll() }
        try pool.writeWithoutTransaction { db in try db.execute(sql: "VACUUM") }
        return removed
    }
}

/// What `lolpim cache stats` prints.
public struct KernelStoreStatistics: Sendable {
    public struct Run: Sendable {
        public var finished: Date
        public var command: String
        public var hits: Int64
        public var misses: Int64
    }
    public var path: String
    /// Entries by kind: `gemv` (one channel's GEMV), `unit` (a static attention unit), `boundary` (two units).
    public var entries: [String: Int] = [:]
    public var contexts = 0
    /// Bytes of the database file and its WAL and shared-memory files.
    public var bytes: Int64 = 0
    public var lastRun: Run?
}

public enum KernelStoreError: Error, CustomStringConvertible {
    case unusable(path: String)
    case lockFile(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .unusable(let path): return "the kernel store \(path) cannot be used (see the warning above)"
        case .lockFile(let path, let code):
            return "cannot lock \(path): \(String(cString: strerror(code))); is the directory writable?"
        }
    }
}
