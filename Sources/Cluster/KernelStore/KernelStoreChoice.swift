import Foundation
import PIMModule
import Synchronization

/// Whether a command uses the kernel-timing store, and which file: `--no-kernel-cache` turns it off;
/// otherwise `--kernel-cache PATH`, else `LOLPIM_KERNEL_CACHE`, else `$XDG_CACHE_HOME/lolpim/kernels.sqlite`,
/// else `~/.cache/lolpim/kernels.sqlite`. A PATH that is a directory holds `kernels.sqlite`.
public enum KernelStoreChoice: Sendable, Equatable {
    case off
    case file(String)

    public static let fileName = "kernels.sqlite"

    public static func resolve(
        path: String?, disabled: Bool,
        environment: [String: String] = ProcessInfo.processInfo.environment
    )
        -> KernelStoreChoice
    {
        if disabled { return .off }
        func nonEmpty(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        if let given = path ?? nonEmpty("LOLPIM_KERNEL_CACHE") {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: given, isDirectory: &isDirectory)
            return .file(exists && isDirectory.boolValue ? (given as NSString).appendingPathComponent(fileName) : given)
        }
        // XDG Base Directory: a relative $XDG_CACHE_HOME is invalid and ignored.
        if let cache = nonEmpty("XDG_CACHE_HOME"), cache.hasPrefix("/") {
            return .file(cache + "/lolpim/" + fileName)
        }
        if let home = nonEmpty("HOME") { return .file(home + "/.cache/lolpim/" + fileName) }
        return .off
    }

    /// The arguments that pass this choice on to a process this one starts (`lolpim worker`, `coordinator`).
    /// A path is made absolute, since the other process may start elsewhere.
    public var arguments: [String] {
        switch self {
        case .off: return ["--no-kernel-cache"]
        case .file(let path): return ["--kernel-cache", URL(fileURLWithPath: path).standardizedFileURL.path]
        }
    }

    /// The store of this choice, one per file in this process (workers as threads share it); nil when off.
    public var store: SQLiteKernelStore? {
        guard case .file(let path) = self else { return nil }
        return Self.open.withLock { open in
            if let store = open[path] { return store }
            let store = SQLiteKernelStore(path: path)
            open[path] = store
            return store
        }
    }

    private static let open = Mutex<[String: SQLiteKernelStore]>([:])
}
