import Foundation

/// The one way lolpim opens a file it reads (topology, sweep, request trace, hosts file, keys, report inputs, AiM
/// traces). The file is opened without blocking and its kind and size are checked before a byte is read, so that
/// a directory, a FIFO, a device such as `/dev/zero` or a file beyond the size cap gets a message that names it
/// instead of a hang, unbounded memory or a raw Foundation error. Text must be UTF-8; the first byte that is not
/// is located at its line and column.
public enum InputFile {
    /// Opens `path` for reading: a regular file (after following symbolic links) of at most `maxBytes` bytes
    /// when given. Returns the descriptor (closed on exec) and the file's size. `what` names the file in
    /// messages ("topology file", "request trace").
    static func openChecked(
        _ path: String, what: String, maxBytes: Int? = nil
    ) throws(InputFileError) -> (Int32, Int) {
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ENOENT: throw InputFileError(file: path, message: "no such \(what)")
            case EACCES: throw InputFileError(file: path, message: "cannot read the \(what): permission denied")
            default:
                throw InputFileError(
                    file: path, message: "cannot open the \(what) (\(String(cString: strerror(code))))")
            }
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw InputFileError(file: path, message: "cannot read the \(what) (\(reason))")
        }
        let size = Int(info.st_size)
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG else {
            close(fd)
            throw InputFileError(
                file: path,
                message: "is \(describe(kind: kind)), not \(article(what)) \(what): give the path of a regular file")
        }
        if let maxBytes, size > maxBytes {
            close(fd)
            throw InputFileError(
                file: path,
                message: "the \(what) is \(size) bytes; at most \(maxBytes) (\(maxBytes >> 20) MiB) are read")
        }
        // Reads of a regular file never block; the flag only mattered for the open.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return (fd, size)
    }

    /// Opens `path` as `openChecked` does, for a file read by ranges (a checkpoint's tensors): the descriptor,
    /// which the caller closes, and the file's size.
    public static func openForRanges(_ path: String, what: String) throws(InputFileError) -> (fd: Int32, size: Int) {
        try openChecked(path, what: what)
    }

    /// `count` bytes at `offset` of a file `openForRanges` gave; nil when the file ends first or cannot be read.
    public static func bytes(_ fd: Int32, at offset: Int, count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done))
            }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return nil }
            done += n
        }
        return bytes
    }

    /// The whole file's bytes; at most `maxBytes` (a file that grows past it while read is refused too).
    public static func data(_ path: String, what: String, maxBytes: Int) throws(InputFileError) -> [UInt8] {
        let (fd, size) = try openChecked(path, what: what, maxBytes: maxBytes)
        defer { close(fd) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw InputFileError(
                    file: path, message: "cannot read the \(what) (\(String(cString: strerror(errno))))")
            }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
            guard bytes.count <= maxBytes else {
                throw InputFileError(
                    file: path, message: "the \(what) grew beyond \(maxBytes) bytes while it was read")
            }
        }
    }

    /// The whole file as UTF-8 text; the first byte that is not UTF-8 is refused at its line.
    public static func text(_ path: String, what: String, maxBytes: Int) throws(InputFileError) -> String {
        let bytes = try data(path, what: what, maxBytes: maxBytes)
        if let problem = utf8Problem(bytes[...]) {
            let line = 1 + bytes[..<problem].lazy.filter { $0 == UInt8(ascii: "\n") }.count
            let lineStart = bytes[..<problem].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            throw InputFileError(
                file: path, line: line,
                message: notUTF8(what: what, byte: bytes[problem], column: problem - lineStart + 1))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The file's lines, read as a stream in constant memory (`LineReader`).
    public static func lines(
        _ path: String, what: String, maxLineBytes: Int = 1 << 20
    ) throws(InputFileError) -> LineReader {
        try LineReader(path: path, what: what, maxLineBytes: maxLineBytes)
    }

    /// The message for a byte that is not UTF-8.
    static func notUTF8(what: String, byte: UInt8, column: Int) -> String {
        "the \(what) is not UTF-8 text: byte 0x\(String(byte, radix: 16, uppercase: true)) at column \(column); "
            + "save it as UTF-8"
    }

    /// The offset of the first byte of `bytes` that does not belong to valid UTF-8, nil when all do.
    static func utf8Problem(_ bytes: ArraySlice<UInt8>) -> Int? {
        // ASCII runs are the common case; the decoder only sees the rest.
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] < 0x80 {
                index += 1
                continue
            }
            var iterator = bytes[index...].makeIterator()
            var decoder = Unicode.UTF8()
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): index += UTF8.width(scalar)
            case .error, .emptyInput: return index
            }
        }
        return nil
    }

    /// "an" before a vowel ("an AiM trace"), else "a".
    static func article(_ noun: String) -> String { noun.first.map { "aeiouAEIOU".contains($0) } == true ? "an" : "a" }

    /// "a directory", "a FIFO (named pipe)", … for a file type from `st_mode`.
    static func describe(kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }
}
