import ArgumentParser
import Cluster
import Foundation

struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Inspect or empty the kernel-timing store (docs/KERNEL-STORE.md).",
        subcommands: [Stats.self, Clear.self])

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Entries, size, and the store lookups of the last run that used it.")

        @OptionGroup var kernelCache: KernelCacheOptions

        func run() throws {
            let store = try CacheCommand.store(kernelCache)
            let s = try reportingFailures { try store.statistics() }
            let total = s.entries.values.reduce(0, +)
            print("kernel store \(s.path)")
            let kinds = s.entries.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: " · ")
            print(
                "  entries   \(total) kernel timings" + (kinds.isEmpty ? "" : " (\(kinds))")
                    + " under \(s.contexts) model contexts")
            print(
                String(
                    format: "  size      %.1f KiB (database, WAL and shared-memory files)",
                    Double(s.bytes) / 1024))
            if let run = s.lastRun {
                let lookups = run.hits + run.misses
                let rate =
                    lookups == 0
                    ? "no lookups"
                    : String(format: "%.1f %% answered by the store", Double(run.hits) / Double(lookups) * 100)
                print(
                    "  last run  \(run.command), finished \(run.finished.formatted(.iso8601)): \(run.hits) hits, "
                        + "\(run.misses) misses (\(rate))")
            } else {
                print("  last run  none recorded")
            }
        }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove every kernel timing from the store.")

        @OptionGroup var kernelCache: KernelCacheOptions

        func run() throws {
            let store = try CacheCommand.store(kernelCache)
            let removed = try reportingFailures { try store.clear() }
            print("removed \(removed) kernel timings from \(store.path)")
        }
    }

    static func store(_ options: KernelCacheOptions) throws -> SQLiteKernelStore {
        guard let store = options.choice.store else {
            throw ValidationError(
                "no kernel store: --no-kernel-cache was given, or neither HOME nor "
                    + "XDG_CACHE_HOME is set")
        }
        return store
    }
}
