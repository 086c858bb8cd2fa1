import Foundation

/// Reads a text file line by line in fixed-size chunks (constant memory whatever the file's length). Lines end
/// at LF; the LF is not part of the line (a CR before it is, and callers that split on white space drop it).
public struct LineReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    /// Where the unread part of `buffer` starts.
    private var start = 0
    private var atEnd = false
    /// Longest line accepted, in bytes; a longer one is an error rather than unbounded memory.
    public let maxLineBytes: Int

    public enum Failure: Error, CustomStringConvertible {
        case unreadable(String)
        case lineTooLong(Int)

        public var description: String {
            switch self {
            case .unreadable(let reason): return "cannot read the file (\(reason))"
            case .lineTooLong(let limit): return "a line is longer than \(limit) bytes"
            }
        }
    }

    public init(path: String, maxLineBytes: Int = 1 << 20) throws(Failure) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .unreadable(String(cString: strerror(errno)))
        }
        self.handle = handle
        self.maxLineBytes = maxLineBytes
    }

    /// The next line, or nil at the end of the file.
    public mutating func next() throws(Failure) -> Substring? {
        var searched = start
        while true {
            if let newline = buffer[searched...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Substring(decoding: buffer[start..<newline], as: UTF8.self)
                start = newline + 1
                return line
            }
            searched = buffer.count
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = Substring(decoding: buffer[start...], as: UTF8.self)
                start = buffer.count
                return line
            }
            guard buffer.count - start <= maxLineBytes else { throw .lineTooLong(maxLineBytes) }
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 64 << 10) ?? Data()
            } catch {
                throw .unreadable(error.localizedDescription)
            }
            if chunk.isEmpty { atEnd = true; continue }
            // Drop what was read before appending, so the buffer holds at most one chunk plus one line.
            buffer.removeFirst(start)
            searched -= start
            start = 0
            buffer.append(contentsOf: chunk)
        }
    }
}
