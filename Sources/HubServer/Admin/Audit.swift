import HubCrypto
import HubHTTP
import HubStore
import HubWire

/// Builds audit rows for admin actions; the caller writes them in the change's transaction.
enum Audit {
    /// `now`: the hub's clock (`Clock`), as every other record's time.
    static func entry(_ request: Request, at now: Int64, action: String, resource: String, resourceID: String?,
                      old: JSON?, new: JSON?) -> AuditTable.Entry {
        return AuditTable.Entry(
            id: SecureRandom.uuidV7(nowMs: now * 1000), adminID: request.principal?.id, action: action, resource: resource,
            resourceID: resourceID, oldValues: old?.text, newValues: new?.text, ipAddress: request.peer,
            userAgent: String(request.userAgent.prefix(512)), createdAt: now)
    }

    /// For a change whose new state is only known inside its transaction (a booking cancelled
    /// or confirmed by staff): the row, given the new values.
    static func recorder(_ request: Request, at now: Int64, action: String, resource: String, resourceID: String?,
                         old: JSON?) -> @Sendable (JSON?) -> AuditTable.Entry {
        let template = entry(request, at: now, action: action, resource: resource, resourceID: resourceID, old: old, new: nil)
        return { new in
            AuditTable.Entry(id: template.id, adminID: template.adminID, action: template.action, resource: template.resource,
                             resourceID: template.resourceID, oldValues: template.oldValues, newValues: new?.text,
                             ipAddress: template.ipAddress, userAgent: template.userAgent, createdAt: template.createdAt)
        }
    }
}
