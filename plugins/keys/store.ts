import { type AccountUpdate, type KeyRestrictions, type KeyUpdate, migrate, NO_RESTRICTIONS, randomBase62, type SqlShape, type StoredAccount, type StoredKey } from "../../core/index.ts"
import { type AccountRow, applyChanges, CALLER_KEY_COLUMNS, KEY_COLUMNS, type KeyRow, type RestrictionRow, restrictionValues, toAccount, toKey, toRestrictions } from "./rows.ts"

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
   CREATE INDEX api_keys_by_account ON api_keys (account_id)`,
  // Key restrictions (SPEC section 15) and account suspension and deletion.
  `ALTER TABLE api_keys ADD COLUMN spend_limit_nano INTEGER;
   ALTER TABLE api_keys ADD COLUMN spend_period TEXT;
   ALTER TABLE api_keys ADD COLUMN models TEXT;
   ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
   ALTER TABLE api_keys ADD COLUMN key_rpm INTEGER;
   ALTER TABLE api_keys ADD COLUMN key_tpm INTEGER;
   ALTER TABLE api_keys ADD COLUMN metadata TEXT;
   ALTER TABLE accounts ADD COLUMN suspended_at INTEGER;
   ALTER TABLE accounts ADD COLUMN deleted_at INTEGER`
]

/** Accounts and their API keys. Keys are stored only as SHA-256 hashes. */
export const makeKeyStore = (sql: SqlShape, now: () => number = Date.now) => {
  migrate(sql, "keys", MIGRATIONS)
  const insertAccount = sql.prepare("INSERT INTO accounts (id, name, tier, rpm, tpm, created_at) VALUES (?, ?, ?, NULL, NULL, ?)")
  const selectAccount = sql.prepare("SELECT * FROM accounts WHERE id = ?")
  const updateTier = sql.prepare("UPDATE accounts SET tier = ? WHERE id = ?")
  const selectAccounts = sql.prepare("SELECT * FROM accounts WHERE deleted_at IS NULL ORDER BY created_at, id")
  // One statement, so it takes the write lock before it looks: of several processes starting
  // together on a new store (two relays, a relay and a command), exactly one creates it.
  const insertFirstAccount = sql.prepare(
    "INSERT INTO accounts (id, name, tier, rpm, tpm, created_at) SELECT ?, ?, ?, NULL, NULL, ? WHERE NOT EXISTS (SELECT 1 FROM accounts)"
  )
  const insertKey = sql.prepare(
    `INSERT INTO api_keys (id, account_id, name, prefix, hash, created_at, spend_limit_nano, spend_period, models, expires_at, key_rpm, key_tpm, metadata)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
  )
  const updateKey = sql.prepare(
    `UPDATE api_keys SET name = ?, spend_limit_nano = ?, spend_period = ?, models = ?, expires_at = ?, key_rpm = ?, key_tpm = ?, metadata = ?
     WHERE id = ?`
  )
  const selectKeys = sql.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE account_id = ? ORDER BY created_at, id`)
  const revokeKey = sql.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
  const selectKey = sql.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = ?`)
  const suspend = sql.prepare("UPDATE accounts SET suspended_at = ? WHERE id = ? AND deleted_at IS NULL")
  const markDeleted = sql.prepare("UPDATE accounts SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL")
  const revokeAll = sql.prepare("UPDATE api_keys SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL")
  const selectActiveByHash = sql.prepare(
    `SELECT ${CALLER_KEY_COLUMNS}, a.* FROM api_keys k JOIN accounts a ON a.id = k.account_id
     WHERE k.hash = ? AND k.revoked_at IS NULL AND a.deleted_at IS NULL`
  )
  const selectActiveById = sql.prepare(
    `SELECT ${CALLER_KEY_COLUMNS}, a.* FROM api_keys k JOIN accounts a ON a.id = k.account_id
     WHERE k.id = ? AND k.revoked_at IS NULL AND a.deleted_at IS NULL`
  )

  const callerFrom = (row: (AccountRow & RestrictionRow & { key_id: string }) | undefined) =>
    row === undefined ? undefined : { keyId: row.key_id, account: toAccount(row), key: toRestrictions(row) }
  const writeKey = (id: string, name: string | null, r: KeyRestrictions) => {
    const v = restrictionValues(r)
    updateKey.run(name, v.spend_limit_nano, v.spend_period, v.models, v.expires_at, v.key_rpm, v.key_tpm, v.metadata, id)
  }

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
    /** Suspends or resumes an account that is not deleted. */
    setSuspended(id: string, suspended: boolean): StoredAccount | undefined {
      if (suspend.run(suspended ? now() : null, id).changes === 0) return undefined
      return this.account(id)
    },
    /** Marks the account deleted and revokes its keys, in one transaction. */
    deleteAccount(id: string): boolean {
      return sql.transaction(() => {
        const at = now()
        if (markDeleted.run(at, id).changes === 0) return false
        revokeAll.run(at, id)
        return true
      })
    },
    createKey(accountId: string, name: string | null, key: { prefix: string; hash: string }, restrictions: KeyRestrictions = NO_RESTRICTIONS): StoredKey {
      const id = `key_${randomBase62(16)}`
      const v = restrictionValues(restrictions)
      insertKey.run(id, accountId, name, key.prefix, key.hash, now(), v.spend_limit_nano, v.spend_period, v.models, v.expires_at, v.key_rpm, v.key_tpm, v.metadata)
      return this.key(id)!
    },
    /** Changes a key's name or restrictions; undefined when there is no such key. */
    updateKey(id: string, changes: KeyUpdate): StoredKey | undefined {
      return sql.transaction(() => {
        const current = this.key(id)
        if (current === undefined) return undefined
        writeKey(id, changes.name === undefined ? current.name : changes.name, applyChanges(current.restrictions, changes))
        return this.key(id)
      })
    },
    keys(accountId: string): Array<StoredKey> {
      return selectKeys.all<KeyRow>(accountId).map(toKey)
    },
    key(id: string): StoredKey | undefined {
      const row = selectKey.get<KeyRow>(id)
      return row === undefined ? undefined : toKey(row)
    },
    /** True when the key existed and was active. */
    revokeKey(id: string): boolean {
      return revokeKey.run(now(), id).changes > 0
    },
    activeByHash(hash: string) {
      return callerFrom(selectActiveByHash.get<AccountRow & RestrictionRow & { key_id: string }>(hash))
    },
    activeById(keyId: string) {
      return callerFrom(selectActiveById.get<AccountRow & RestrictionRow & { key_id: string }>(keyId))
    }
  }
}

export type KeyStore = ReturnType<typeof makeKeyStore>
