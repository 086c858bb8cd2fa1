/// Text that came from outside (a peer's message, a file's value) made safe to print or log: bounded in length
/// and with control characters written as `\u{…}` escapes, so it cannot forge lines or send terminal escape
/// sequences.
public enum SafeText {
    /// `text` cut to `limit` characters (an ellipsis marks a cut) with every control character escaped.
    public static func clip(_ text: some StringProtocol, limit: Int = 200) -> String {
        let short = text.count > limit ? String(text.prefix(limit)) + "…" : String(text)
        var out = ""
        out.unicodeScalars.reserveCapacity(short.unicodeScalars.count)
        for scalar in short.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar.value == 0x2028 || scalar.value == 0x2029 {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
