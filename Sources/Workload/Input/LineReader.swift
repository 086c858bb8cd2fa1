import Foundation

/// Reads a text file line by line in fixed-size chunks (constant memory whatever the file's length), opened
/// and checked as `InputFile` does (a regular file, not a directory, FIFO or device). Lines end at LF; the LF is
/// not part of the line, nor is a CR before it. A line that is not UTF-8 or longer than `maxLineBytes` is an
/// error naming its line. The layers below hand lines in as values (`Substring`), never a file.
public final class LineReader {
    private let fd: Int32
    private let path: String
    private let what: String
    private var buffer: [UInt8] = []
    /// Where the unread part of `buffer` starts.
    private var start = 0
    private var atEnd = false
    /// Longest line accepted, in bytes; a longer one is an error rather than unbounded memory.
    public let maxLineBytes: Int
    /// The number of the line `next()` returned last (1-based; 0 before the first).
    public private(set) var lineNumber = 0

    /// Opens `path`; `what` names it in messages ("AiM trace", "request trace").
    public init(path: String, what: String = "file", maxLineBytes: Int = 1 << 20) throws(InputFileError) {
        (fd, _) = try InputFile.openChecked(path, what: what)
        self.path = path
        self.what = what
        self.maxLineBytes = maxLineBytes
    }

    deinit {
        if !atEnd { _ = Foundation.close(fd) }
    }

    /// The next line, or nil at the end of the file.
    public func next() throws(InputFileError) -> Substring? {
        var searched = start
        while true {
            if let newline = buffer[searched...].firstIndex(of: UInt8(ascii: "\n")) {
                defer { start = newline + 1 }
                return try line(buffer[start..<newline])
            }
            searched = buffer.count
            if atEnd {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                return try line(buffer[start...])
            }
            guard buffer.count - start <= maxLineBytes else {
                throw InputFileError(
                    file: path, line: lineNumber + 1, message: "a line is longer than \(maxLineBytes) bytes")
            }
            var chunk = [UInt8](repeating: 0, count: 64 << 10)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw InputFileError(
                    file: path, line: lineNumber + 1,
                    message: "cannot read the \(what) (\(String(cString: strerror(errno))))")
            }
            if count == 0 {
                _ = Foundation.close(fd)
                atEnd = true
                continue
            }
            // Drop what was read before appending, so the buffer holds at most one chunk plus one line.
            buffer.removeFirst(start)
            searched -= start
            start = 0
            buffer += chunk[..<count]
        }
    }

    /// One line's bytes as text, without a trailing CR; refused at its line when they are not UTF-8.
    private func line(_ bytes: ArraySlice<UInt8>) throws(InputFileError) -> Substring {
        lineNumber += 1
        let content = bytes.last == UInt8(ascii: "\r") ? bytes.dropLast() : bytes
        guard content.count <= maxLineBytes else {
            throw InputFileError(file: path, line: lineNumber, message: "a line is longer than \(maxLineBytes) bytes")
        }
        if let problem = InputFile.utf8Problem(content) {
            throw InputFileError(
                file: path, line: lineNumber,
                message: InputFile.notUTF8(what: what, byte: content[problem], column: problem - content.startIndex + 1)
            )
        }
        return Substring(decoding: content, as: UTF8.self)
    }
}
