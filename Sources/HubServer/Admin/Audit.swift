import HubCrypto
import HubStore
import HubWire

/// Builds audit rows for admin actions; the caller writes them in the change's transaction.
enum Audit {
    static func entry(_ request: Request, action: String, resource: String, resourceID: String?,
                      old: JSON?, new: JSON?) -> AuditTable.Entry {
        let now = WallClock.seconds()
        return AuditTable.Entry(
            id: SecureRandom.uuidV7(nowMs: now * 1000), adminID: request.principal?.id, action: action, resource: resource,
            resourceID: resourceID, oldValues: old?.text, newValues: new?.text, ipAddress: request.peer,
            userAgent: String(request.userAgent.prefix(512)), createdAt: now)
    }
}
