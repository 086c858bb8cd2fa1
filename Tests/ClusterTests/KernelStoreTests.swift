@testable import Cluster
import Foundation
import GRDB
import PIMModule
import Synchronization
import TestSupport
import Testing

/// Warnings a store printed, for tests.
final class Warnings: Sendable {
    private let list = Mutex<[String]>([])
    func add(_ text: String) { list.withLock { $0.append(text) } }
    var all: [String] { list.withLock { $0 } }
}

@Suite("Kernel-timing store")
struct KernelStoreTests {
    static func timing(_ cycles: Int64) -> KernelTiming {
        KernelTiming(
            cycles: cycles, counts: AiMCommandKind.allCases.map { Int64($0.rawValue) * cycles },
            order: .rowStationary)
    }

    static let key = KernelKey(context: "model 1\npolicy dcs", kernel: "gemv 64x128x4")

    @Test("a timing recorded by one store is read back exactly by another on the same file")
    func roundTrip() throws {
        let path = Harness.directory("store") + "/k.sqlite"
        SQLiteKernelStore(path: path).record(Self.key, Self.timing(1234))
        let other = SQLiteKernelStore(path: path)
        #expect(other.timing(Self.key) == Self.timing(1234))
        #expect(other.timing(KernelKey(context: Self.key.context, kernel: "gemv 64x128x8")) == nil)
        #expect(other.timing(KernelKey(context: "model 2\npolicy dcs", kernel: Self.key.kernel)) == nil)
        let stats = try other.statistics()
        #expect(stats.entries == ["gemv": 1] && stats.contexts == 1 && stats.bytes > 0)
    }

    @Test("a boundary may be negative; any other negative row is not trusted")
    func rowValidation() throws {
        let path = Harness.directory("store-rows") + "/k.sqlite"
        let store = SQLiteKernelStore(path: path)
        let boundary = KernelKey(context: "c", kernel: "boundary tcp 32*16x128x1 | 32*16x128x1")
        var negative = Self.timing(0)
        negative.cycles = -2
        negative.counts[0] = -1
        store.record(boundary, negative)
        store.record(Self.key, Self.timing(99))
        #expect(store.timing(boundary) == negative)
        // Tamper with the file behind the store's back: a wrong number of counts, then a negative time.
        let queue = try DatabaseQueue(path: path)
        try queue.write {
            try $0.execute(sql: "UPDATE kernels SET counts = '1,2,3' WHERE kernel = ?", arguments: [Self.key.kernel])
        }
        #expect(SQLiteKernelStore(path: path).timing(Self.key) == nil)
        try queue.write {
            try $0.execute(
                sql: "UPDATE kernels SET cycles = -5, counts = ? WHERE kernel = ?",
                arguments: [
                    Self.timing(1).counts.map(String.init).joined(separator: ","),
                    Self.key.kernel,
                ])
        }
        #expect(SQLiteKernelStore(path: path).timing(Self.key) == nil)
        try queue.close()
        // The fresh timing replaces the bad row.
        SQLiteKernelStore(path: path).record(Self.key, Self.timing(99))
        #expect(SQLiteKernelStore(path: path).timing(Self.key) == Self.timing(99))
    }

    @Test(
        "a corrupt file and a foreign database are set aside with a warning and rebuilt, never trusted",
        arguments: ["garbage", "foreign", "old schema", "version 1"])
    func setAside(kind: String) throws {
        let dir = Harness.directory("store-bad")
        let path = dir + "/k.sqlite"
        switch kind {
        case "garbage":
            try Data(repeating: 0x5A, count: 10_000).write(to: URL(fileURLWithPath: path))
        case "foreign":
            let queue = try DatabaseQueue(path: path)
            try queue.write { try $0.execute(sql: "CREATE TABLE kernels (key BLOB, cycles INTEGER)") }
            try queue.close()
        case "version 1":
            // A store as lolpim wrote it before version 2: keyed on SHA-256 digests of the key's texts.
            let queue = try DatabaseQueue(path: path)
            try queue.writeWithoutTransaction {
                try $0.execute(
                    sql: """
                        PRAGMA application_id = \(SQLiteKernelStore.applicationID);
                        PRAGMA user_version = 1;
                        CREATE TABLE contexts (digest BLOB PRIMARY KEY, description TEXT NOT NULL) WITHOUT ROWID;
                        CREATE TABLE kernels (
                            key BLOB PRIMARY KEY, context BLOB NOT NULL, kernel TEXT NOT NULL, cycles INTEGER NOT NULL,
                            counts TEXT NOT NULL, loop_order TEXT NOT NULL, recorded REAL NOT NULL) WITHOUT ROWID;
                        CREATE TABLE runs (
                            id INTEGER PRIMARY KEY AUTOINCREMENT, finished REAL NOT NULL, command TEXT NOT NULL,
                            hits INTEGER NOT NULL, misses INTEGER NOT NULL);
                        INSERT INTO contexts VALUES (x'00', 'c');
                        INSERT INTO kernels VALUES (x'01', x'00', 'gemv 64x128x4', 5, '1', 'rowStationary', 0);
                        """)
            }
            try queue.close()
        default:
            SQLiteKernelStore(path: path).record(Self.key, Self.timing(5))
            let queue = try DatabaseQueue(path: path)
            try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA user_version = 999") }
            try queue.close()
        }
        let warnings = Warnings()
        let store = SQLiteKernelStore(path: path, warn: warnings.add)
        #expect(store.timing(Self.key) == nil)
        store.record(Self.key, Self.timing(7))
        #expect(store.timing(Self.key) == Self.timing(7))
        #expect(warnings.all.count == 1)
        #expect(warnings.all.first?.contains("set aside as \(path).corrupt-") == true, "\(warnings.all)")
        if kind == "version 1" {
            #expect(warnings.all.first?.contains("has schema version 1, this lolpim uses 2") == true)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(files.contains { $0.hasPrefix("k.sqlite.corrupt-") })
        // The rebuilt file is a good store: a second opening warns no more.
        let again = Warnings()
        #expect(SQLiteKernelStore(path: path, warn: again.add).timing(Self.key) == Self.timing(7))
        #expect(again.all.isEmpty)
    }

    @Test("a store that cannot be created warns once and answers nothing; timing goes on without it")
    func unusable() throws {
        let file = Harness.directory("store-unusable") + "/plain-file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        let warnings = Warnings()
        let store = SQLiteKernelStore(path: file + "/under-a-file/k.sqlite", warn: warnings.add)
        store.record(Self.key, Self.timing(1))
        #expect(store.timing(Self.key) == nil)
        #expect(warnings.all.count == 1)
        let timer = KernelTimer(module: .cent32, policy: .dcs, store: store)
        #expect(
            timer.time(GEMVShape(rows: 64, columns: 256, batch: 2))
                == KernelTimer(module: .cent32, policy: .dcs).time(GEMVShape(rows: 64, columns: 256, batch: 2)))
    }

    @Test("writers on separate connections at once lose nothing")
    func concurrentWriters() throws {
        let path = Harness.directory("store-concurrent") + "/k.sqlite"
        let writers = 4, each = 150
        DispatchQueue.concurrentPerform(iterations: writers) { w in
            let store = SQLiteKernelStore(path: path)
            for i in 0..<each {
                store.record(KernelKey(context: "c", kernel: "gemv \(w)x\(i)x1"), Self.timing(Int64(w * 1000 + i)))
                _ = store.timing(KernelKey(context: "c", kernel: "gemv \((w + 1) % writers)x\(i)x1"))
            }
        }
        let store = SQLiteKernelStore(path: path)
        #expect(try store.statistics().entries["gemv"] == writers * each)
        for w in 0..<writers {
            for i in stride(from: 0, to: each, by: 37) {
                let key = KernelKey(context: "c", kernel: "gemv \(w)x\(i)x1")
                #expect(store.timing(key) == Self.timing(Int64(w * 1000 + i)))
            }
        }
    }

    @Test(
        "a timer with a warm store simulates nothing and gives the same timings",
        arguments: SchedulingPolicy.allCases)
    func warmTimer(policy: SchedulingPolicy) throws {
        let path = Harness.directory("store-timer") + "/k.sqlite"
        let shapes = [GEMVShape(rows: 100, columns: 4096, batch: 4), GEMVShape(rows: 2048, columns: 128, batch: 8)]
        let plain = KernelTimer(module: .cent32, policy: policy)
        let cold = CountingKernelStore(SQLiteKernelStore(path: path))
        let coldTimes = shapes.map { KernelTimer(module: .cent32, policy: policy, store: cold).time($0) }
        let warm = CountingKernelStore(SQLiteKernelStore(path: path))
        let warmTimer = KernelTimer(module: .cent32, policy: policy, store: warm)
        #expect(shapes.map(warmTimer.time) == coldTimes)
        #expect(coldTimes == shapes.map(plain.time))
        #expect(cold.misses == Int64(shapes.count) && cold.hits == 0)
        #expect(warm.hits == Int64(shapes.count) && warm.misses == 0)
        // Another refresh setting is another model context: a miss.
        let other = CountingKernelStore(SQLiteKernelStore(path: path))
        _ = KernelTimer(module: .cent32, policy: policy, refresh: false, store: other).time(shapes[0])
        #expect(other.misses == 1)
    }

    @Test("the store file: --no-kernel-cache, then --kernel-cache, then LOLPIM_KERNEL_CACHE, XDG_CACHE_HOME, HOME")
    func location() throws {
        let env = ["LOLPIM_KERNEL_CACHE": "/e/k.sqlite", "XDG_CACHE_HOME": "/x", "HOME": "/h"]
        #expect(KernelStoreChoice.resolve(path: "/p.sqlite", disabled: true, environment: env) == .off)
        #expect(KernelStoreChoice.resolve(path: "/p.sqlite", disabled: false, environment: env) == .file("/p.sqlite"))
        #expect(KernelStoreChoice.resolve(path: nil, disabled: false, environment: env) == .file("/e/k.sqlite"))
        func resolved(_ environment: [String: String]) -> KernelStoreChoice {
            KernelStoreChoice.resolve(path: nil, disabled: false, environment: environment)
        }
        #expect(resolved(["XDG_CACHE_HOME": "/x", "HOME": "/h"]) == .file("/x/lolpim/kernels.sqlite"))
        #expect(resolved(["XDG_CACHE_HOME": "rel", "HOME": "/h"]) == .file("/h/.cache/lolpim/kernels.sqlite"))
        #expect(KernelStoreChoice.resolve(path: nil, disabled: false, environment: [:]) == .off)
        let dir = Harness.directory("store-dir")
        #expect(
            KernelStoreChoice.resolve(path: dir, disabled: false, environment: [:])
                == .file(dir + "/kernels.sqlite"))
    }
}
