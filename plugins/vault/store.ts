import { migrate, type Sealed, type SqlShape } from "../../core/index.ts"

const MIGRATIONS = [
  `CREATE TABLE byok_credentials (
     account_id TEXT NOT NULL,
     provider TEXT NOT NULL,
     key_id TEXT NOT NULL,
     iv BLOB NOT NULL,
     ciphertext BLOB NOT NULL,
     hint TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (account_id, provider)
   )`
]

export interface CredentialRow {
  readonly account_id: string
  readonly provider: string
  readonly key_id: string
  readonly iv: Uint8Array
  readonly ciphertext: Uint8Array
  readonly hint: string
  readonly created_at: number
}

export const asSealed = (row: CredentialRow): Sealed => ({
  keyId: row.key_id,
  iv: new Uint8Array(row.iv),
  ciphertext: new Uint8Array(row.ciphertext)
})

/** Sealed BYOK credentials, one per account and provider. */
export const makeCredentialStore = (sql: SqlShape, now: () => number = Date.now) => {
  migrate(sql, "vault", MIGRATIONS)
  const upsert = sql.prepare(
    `INSERT INTO byok_credentials (account_id, provider, key_id, iv, ciphertext, hint, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (account_id, provider) DO UPDATE SET
       key_id = excluded.key_id, iv = excluded.iv, ciphertext = excluded.ciphertext, hint = excluded.hint, created_at = excluded.created_at`
  )
  const reseal = sql.prepare("UPDATE byok_credentials SET key_id = ?, iv = ?, ciphertext = ? WHERE account_id = ? AND provider = ?")
  const one = sql.prepare("SELECT * FROM byok_credentials WHERE account_id = ? AND provider = ?")
  const ofAccount = sql.prepare("SELECT * FROM byok_credentials WHERE account_id = ? ORDER BY provider")
  const all = sql.prepare("SELECT * FROM byok_credentials")
  const remove = sql.prepare("DELETE FROM byok_credentials WHERE account_id = ? AND provider = ?")

  return {
    put(account: string, provider: string, sealed: Sealed, hint: string): CredentialRow {
      upsert.run(account, provider, sealed.keyId, sealed.iv, sealed.ciphertext, hint, now())
      return one.get<CredentialRow>(account, provider)!
    },
    get(account: string, provider: string): { row: CredentialRow; sealed: Sealed } | undefined {
      const row = one.get<CredentialRow>(account, provider)
      return row === undefined ? undefined : { row, sealed: asSealed(row) }
    },
    list(account: string): Array<CredentialRow> {
      return ofAccount.all<CredentialRow>(account)
    },
    all(): Array<{ row: CredentialRow; sealed: Sealed }> {
      return all.all<CredentialRow>().map((row) => ({ row, sealed: asSealed(row) }))
    },
    reseal(account: string, provider: string, sealed: Sealed): void {
      reseal.run(sealed.keyId, sealed.iv, sealed.ciphertext, account, provider)
    },
    /** True when there was a credential to delete. */
    delete(account: string, provider: string): boolean {
      return remove.run(account, provider).changes > 0
    }
  }
}

export type CredentialStore = ReturnType<typeof makeCredentialStore>
