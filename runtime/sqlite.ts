/**
 * How every runtime's SQLite driver opens the store: WAL, so readers never wait on the writer.
 * The busy timeout comes first: switching a new store to WAL takes a write lock, and processes
 * opening it at once (several `relay` commands) must wait for each other there, not fail.
 */
export const STORE_PRAGMAS = ["busy_timeout = 5000", "journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"]
