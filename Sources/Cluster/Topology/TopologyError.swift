/// A problem in a topology file, located as precisely as the file allows.
public struct TopologyError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    /// 1-based line and column of the offending node, when known.
    public var line: Int?
    public var column: Int?
    /// Dotted path of the field, e.g. `cluster.channels`.
    public var field: String
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, field: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    /// `file:line:column: field: message`, with control characters escaped and every part bounded (a value
    /// quoted from the file cannot forge lines or run on).
    public var description: String {
        var location = SafeText.clip(file, limit: 500)
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        let text = SafeText.clip(message, limit: 2000)
        return field.isEmpty ? "\(location): \(text)" : "\(location): \(SafeText.clip(field, limit: 200)): \(text)"
    }
}
