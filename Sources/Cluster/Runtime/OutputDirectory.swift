import Foundation

/// A run's output directory, made ready before the simulation starts so that no finished run is lost to a bad
/// path: the directory is created and proven writable, the timeline file's directory likewise, and a lock file
/// (`.lolpim.lock`, holding the owner's process id) keeps a second run out while this one writes. A lock left
/// by a process that no longer exists is taken over. `release()` removes the lock.
public struct OutputDirectory: Sendable {
    public static let lockName = ".lolpim.lock"

    public let path: String

    /// Prepares `path` (and `traceFile`'s directory) and takes the lock, or throws a message naming the path.
    public static func acquire(_ path: String, traceFile: String? = nil) throws -> OutputDirectory {
        try prepareDirectory(path, what: "output directory")
        if let traceFile {
            let parent = (traceFile as NSString).deletingLastPathComponent
            try prepareDirectory(parent.isEmpty ? "." : parent, what: "directory of the --trace file")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: traceFile, isDirectory: &isDirectory), isDirectory.boolValue {
                throw InputFileError(file: traceFile, message: "the --trace file is a directory")
            }
        }
        let lock = (path as NSString).appendingPathComponent(lockName)
        for _ in 0..<2 {
            let fd = open(lock, O_CREAT | O_EXCL | O_WRONLY, 0o644)
            if fd >= 0 {
                let text = "\(getpid())\n"
                _ = text.withCString { write(fd, $0, strlen($0)) }
                close(fd)
                return OutputDirectory(path: path)
            }
            guard errno == EEXIST else {
                throw InputFileError(
                    file: lock,
                    message: "cannot create the lock file (\(String(cString: strerror(errno))))")
            }
            let owner = (try? String(contentsOfFile: lock, encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if let owner, owner > 0, owner != getpid(), kill(owner, 0) == 0 || errno == EPERM {
                throw InputFileError(
                    file: path,
                    message: "another lolpim run (process \(owner)) is writing into this "
                        + "output directory; wait for it, or choose another with --output")
            }
            // Stale (its owner is gone) or unreadable: take it over.
            unlink(lock)
        }
        throw InputFileError(file: lock, message: "cannot take the lock file: another run keeps recreating it")
    }

    public func release() {
        unlink((path as NSString).appendingPathComponent(Self.lockName))
    }

    /// Creates `path` if needed (each missing component in turn) and proves it writable by creating and
    /// removing a probe file. Errors name the component to blame.
    package static func prepareDirectory(_ path: String, what: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            if mkdir(prefix, 0o755) == 0 { continue }
            let code = errno
            var isDirectory: ObjCBool = false
            if code == EEXIST, FileManager.default.fileExists(atPath: prefix, isDirectory: &isDirectory) {
                if isDirectory.boolValue { continue }
                throw InputFileError(
                    file: path,
                    message: "cannot create the \(what): \(prefix) is a file, not a directory")
            }
            throw InputFileError(
                file: path,
                message: "cannot create the \(what): \(prefix): \(String(cString: strerror(code)))")
        }
        let probe = (path as NSString).appendingPathComponent(".lolpim-write-test-\(getpid())")
        let fd = open(probe, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw InputFileError(
                file: path,
                message: "the \(what) is not writable (\(String(cString: strerror(errno))))")
        }
        close(fd)
        unlink(probe)
    }
}
