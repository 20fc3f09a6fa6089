/// The PHC-style text form of an scrypt password hash: `$scrypt$ln=<logN>,r=<r>,p=<p>$<salt>$<key>`,
/// salt and key in standard base64 without padding.
///
/// Parsing is strict and bounded because the input comes from storage we do not fully control:
/// exactly five `$`-separated fields, parameters in this order as plain decimals without leading
/// zeros, values within `Scrypt.Parameters` ranges, salt and key 16–64 bytes, at most
/// `textBytesMax` bytes overall. Anything else is nil.
struct EncodedPasswordHash: CustomStringConvertible {
    let parameters: Scrypt.Parameters
    let salt: [UInt8]
    let key: [UInt8]

    static let identifier = "scrypt"
    /// Longest accepted encoding: 64-byte salt and key need 86 characters each; 256 leaves room.
    static let textBytesMax = 256
    static let saltBytesRange = 16...64
    static let keyBytesRange = 16...64

    init(parameters: Scrypt.Parameters, salt: [UInt8], key: [UInt8]) {
        self.parameters = parameters
        self.salt = salt
        self.key = key
    }

    init?(_ text: String) {
        guard text.utf8.count <= Self.textBytesMax else { return nil }
        let fields = text.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0].isEmpty, fields[1] == Self.identifier,
            let parameters = Self.parseParameters(fields[2]),
            let salt = Base64Codec.standard.decode(fields[3]), Self.saltBytesRange.contains(salt.count),
            let key = Base64Codec.standard.decode(fields[4]), Self.keyBytesRange.contains(key.count)
        else { return nil }
        self.init(parameters: parameters, salt: salt, key: key)
    }

    var description: String {
        let settings = "ln=\(parameters.logN),r=\(parameters.blockSize),p=\(parameters.parallelism)"
        let salt = Base64Codec.standard.encode(salt)
        let key = Base64Codec.standard.encode(key)
        return "$\(Self.identifier)$\(settings)$\(salt)$\(key)"
    }

    /// `ln=15,r=8,p=1`, in exactly that order.
    private static func parseParameters(_ text: Substring) -> Scrypt.Parameters? {
        let pairs = text.split(separator: ",", omittingEmptySubsequences: false)
        guard pairs.count == 3,
            let logN = parseSetting(pairs[0], name: "ln"),
            let blockSize = parseSetting(pairs[1], name: "r"),
            let parallelism = parseSetting(pairs[2], name: "p")
        else { return nil }
        return Scrypt.Parameters(logN: logN, blockSize: blockSize, parallelism: parallelism)
    }

    /// `name=<1-3 decimal digits, no leading zero>`.
    private static func parseSetting(_ pair: Substring, name: String) -> Int? {
        guard pair.hasPrefix(name + "=") else { return nil }
        let digits = pair.dropFirst(name.count + 1).utf8
        guard (1...3).contains(digits.count), digits.first != UInt8(ascii: "0"),
            digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }
}
