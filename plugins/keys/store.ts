import { type AccountUpdate, migrate, randomBase62, type SqlShape, type StoredAccount, type StoredKey } from "../../core/index.ts"

export type KeyRow = StoredKey

interface AccountRow {
  readonly id: string
  readonly name: string
  readonly tier: string
  readonly created_at: number
}

// The accounts' rpm and tpm columns held per-account limits before the limiter kept them
// (plugins/limiter/sqlite.ts copied them into its own table); they are left in place, unread.
const MIGRATIONS = [
  `CREATE TABLE accounts (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     tier TEXT NOT NULL,
     rpm INTEGER,
     tpm INTEGER,
     created_at INTEGER NOT NULL
   )`,
  `CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     account_id TEXT NOT NULL REFERENCES accounts (id),
     name TEXT,
     prefix TEXT NOT NULL,
     hash TEXT NOT NULL UNIQUE,
     created_at INTEGER NOT NULL,
     revoked_at INTEGER
   );
   CREATE INDEX api_keys_by_account ON api_keys (account_id)`
]

const toAccount = (row: AccountRow): StoredAccount => ({
  id: row.id,
  name: row.name,
  tier: row.tier,
  createdAt: row.created_at
})

/** Accounts and their API keys. Keys are stored only as SHA-256 hashes. */
export const makeKeyStore = (sql: SqlShape, now: () => number = Date.now) => {
  migrate(sql, "keys", MIGRATIONS)
  const insertAccount = sql.prepare("INSERT INTO accounts (id, name, tier, rpm, tpm, created_at) VALUES (?, ?, ?, NULL, NULL, ?)")
  const selectAccount = sql.prepare("SELECT * FROM accounts WHERE id = ?")
  const updateTier = sql.prepare("UPDATE accounts SET tier = ? WHERE id = ?")
  const selectAccounts = sql.prepare("SELECT * FROM accounts ORDER BY created_at, id")
  // One statement, so it takes the write lock before it looks: of several processes starting
  // together on a new store (two relays, a relay and a command), exactly one creates it.
  const insertFirstAccount = sql.prepare(
    "INSERT INTO accounts (id, name, tier, rpm, tpm, created_at) SELECT ?, ?, ?, NULL, NULL, ? WHERE NOT EXISTS (SELECT 1 FROM accounts)"
  )
  const insertKey = sql.prepare(
    "INSERT INTO api_keys (id, account_id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)"
  )
  const selectKeys = sql.prepare(
    "SELECT id, account_id, name, prefix, created_at, revoked_at FROM api_keys WHERE account_id = ? ORDER BY created_at, id"
  )
  const revokeKey = sql.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
  const selectKey = sql.prepare("SELECT id, account_id, name, prefix, created_at, revoked_at FROM api_keys WHERE id = ?")
  const selectActiveByHash = sql.prepare(
    `SELECT k.id AS key_id, a.* FROM api_keys k JOIN accounts a ON a.id = k.account_id
     WHERE k.hash = ? AND k.revoked_at IS NULL`
  )
  const selectActiveById = sql.prepare(
    `SELECT k.id AS key_id, a.* FROM api_keys k JOIN accounts a ON a.id = k.account_id
     WHERE k.id = ? AND k.revoked_at IS NULL`
  )

  const callerFrom = (row: (AccountRow & { key_id: string }) | undefined) =>
    row === undefined ? undefined : { keyId: row.key_id, account: toAccount(row) }

  return {
    createAccount(name: string, tier: string): StoredAccount {
      const id = `acct_${randomBase62(16)}`
      insertAccount.run(id, name, tier, now())
      return toAccount(selectAccount.get<AccountRow>(id)!)
    },
    account(id: string): StoredAccount | undefined {
      const row = selectAccount.get<AccountRow>(id)
      return row === undefined ? undefined : toAccount(row)
    },
    accounts(): Array<StoredAccount> {
      return selectAccounts.all<AccountRow>().map(toAccount)
    },
    /** Creates the store's first account; undefined if it has one already. */
    createFirstAccount(name: string, tier: string): StoredAccount | undefined {
      const id = `acct_${randomBase62(16)}`
      if (insertFirstAccount.run(id, name, tier, now()).changes === 0) return undefined
      return toAccount(selectAccount.get<AccountRow>(id)!)
    },
    /** Applies the given changes. */
    updateAccount(id: string, changes: AccountUpdate): StoredAccount | undefined {
      if (changes.tier !== undefined) updateTier.run(changes.tier, id)
      return this.account(id)
    },
    createKey(accountId: string, name: string | null, key: { prefix: string; hash: string }): KeyRow {
      const id = `key_${randomBase62(16)}`
      insertKey.run(id, accountId, name, key.prefix, key.hash, now())
      return selectKey.get<KeyRow>(id)!
    },
    keys(accountId: string): Array<KeyRow> {
      return selectKeys.all<KeyRow>(accountId)
    },
    key(id: string): KeyRow | undefined {
      return selectKey.get<KeyRow>(id)
    },
    /** True when the key existed and was active. */
    revokeKey(id: string): boolean {
      return revokeKey.run(now(), id).changes > 0
    },
    activeByHash(hash: string) {
      return callerFrom(selectActiveByHash.get<AccountRow & { key_id: string }>(hash))
    },
    activeById(keyId: string) {
      return callerFrom(selectActiveById.get<AccountRow & { key_id: string }>(keyId))
    }
  }
}

export type KeyStore = ReturnType<typeof makeKeyStore>
