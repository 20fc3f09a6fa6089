#include <sqlite3.h>

/// Process-wide settings, before the library's first use (SQLite refuses them after).
/// Memory statistics off: with them on, every allocation inside SQLite takes a global mutex
/// to count it, and the hub reads none of the counts (SQLite recommends
/// SQLITE_DEFAULT_MEMSTATUS=0 for speed).
static inline int spacehub_sqlite_configure(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
