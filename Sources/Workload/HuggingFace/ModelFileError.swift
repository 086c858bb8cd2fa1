/// A model file lolpim cannot use (a `config.json`, a safetensors file, a checkpoint directory): the file, the
/// key or tensor, and what was expected, in words a user can act on.
public struct ModelFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// The key of `config.json` or the tensor's name; nil when the file as a whole is wrong.
    public var item: String?
    public var message: String

    public init(file: String, item: String? = nil, _ message: String) {
        self.file = file
        self.item = item
        self.message = message
    }

    /// A file `InputFile` could not read (its line, when one is to blame, as the item).
    public init(_ error: InputFileError) {
        self.init(file: error.file, item: error.line.map { "line \($0)" }, error.message)
    }

    public var description: String { "\(file): " + (item.map { "\($0): " } ?? "") + message }
}
