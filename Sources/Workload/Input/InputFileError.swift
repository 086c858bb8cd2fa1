/// A problem in a small input file (hosts file, keys): the file, the line when one line is to blame, and
/// what was expected. Topology and sweep files have `TopologyError`, which also names the field.
public struct InputFileError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var line: Int?
    public var message: String

    public init(file: String, line: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
}
