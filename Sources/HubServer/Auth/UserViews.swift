import HubCore
import HubWire

/// JSON of accounts.
enum UserViews {
    static func user(_ user: User) -> JSON {
        [
            "id": .string(user.id),
            "email": .string(user.email),
            "firstName": .string(user.firstName),
            "lastName": .string(user.lastName),
            "phone": .optional(user.phone),
            "emailVerified": .bool(user.emailVerified),
            "status": .string(user.status.rawValue),
            "role": "user",
            "createdAt": .string(UTC.iso8601(user.createdAt)),
            "updatedAt": .string(UTC.iso8601(user.updatedAt)),
        ]
    }

    static func admin(_ admin: AdminUser) -> JSON {
        [
            "id": .string(admin.id),
            "email": .string(admin.email),
            "name": .string(admin.name),
            "role": .string(admin.role.rawValue),
            "isActive": .bool(admin.isActive),
            "lastLogin": admin.lastLogin.map { .string(UTC.iso8601($0)) } ?? .null,
            "createdAt": .string(UTC.iso8601(admin.createdAt)),
        ]
    }
}
