import Foundation
import Workload

/// A run's output directory, made ready before the simulation starts so that no finished run is lost to a bad
/// path: the directory is created and proven writable, the timeline file's directory likewise, and a lock file
/// (`.lolpim.lock`) keeps a second run out while this one writes. The run holds an `flock` on the lock file for
/// as long as it lives, and writes its process id into it for messages: the kernel drops the lock when the
/// process ends, however it ends, so a lock file left by a killed run (or naming a process id that was reused
/// since) is taken over, and only a live lolpim holding it keeps others out. `release()` removes it.
public struct OutputDirectory: Sendable {
    public static let lockName = ".lolpim.lock"

    public let path: String
    /// The open, locked lock file (closed on exec: a run's children do not inherit it).
    private let lockDescriptor: Int32

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
        for _ in 0..<3 {
            let fd = open(lock, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0o644)
            guard fd >= 0 else {
                throw InputFileError(
                    file: lock, message: "cannot create the lock file (\(String(cString: strerror(errno))))")
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                let owner = Self.owner(fd)
                close(fd)
                guard code == EWOULDBLOCK else {
                    throw InputFileError(
                        file: lock, message: "cannot lock the lock file (\(String(cString: strerror(code))))")
                }
                throw InputFileError(
                    file: path,
                    message: "another lolpim run (\(owner.map { "process \($0)" } ?? "a process")) is writing into "
                        + "this output directory; wait for it, or choose another with --output")
            }
            // Locked; but a run that was ending may have removed the file meanwhile: then lock the new one.
            var held = stat()
            var named = stat()
            guard fstat(fd, &held) == 0, stat(lock, &named) == 0, held.st_ino == named.st_ino,
                held.st_dev == named.st_dev
            else {
                close(fd)
                continue
            }
            let text = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            return OutputDirectory(path: path, lockDescriptor: fd)
        }
        throw InputFileError(file: lock, message: "cannot take the lock file: another run keeps recreating it")
    }

    /// The process id a lock file names, if it names one.
    private static func owner(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Removes the lock file and drops the lock.
    public func release() {
        unlink((path as NSString).appendingPathComponent(Self.lockName))
        close(lockDescriptor)
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
