/** How every runtime's SQLite driver opens the store: WAL, so readers never wait on the writer. */
export const STORE_PRAGMAS = ["journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON", "busy_timeout = 5000"]
