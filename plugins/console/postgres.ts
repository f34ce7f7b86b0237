import { Effect, Layer } from "effect"
import {
  clientOf,
  ConsoleSessions,
  type Flash,
  Keyring,
  type KeyringShape,
  openSealed,
  type PostgresSource,
  type Principal,
  query,
  randomBase62,
  seal,
  type Session,
  sha256Hex
} from "../../core/index.ts"
import type { SessionOptions } from "./sessions.ts"

interface Row {
  readonly csrf: string
  readonly principal: string | null
  readonly expires_at: bigint
  readonly flash_key_id: string | null
  readonly flash_iv: Uint8Array | null
  readonly flash: Uint8Array | null
}

/** Expired sessions are deleted at most this often, by the sign-in that finds them due. */
const PURGE_EVERY_MS = 60_000

/** The flash's sealing context: a sealed flash moved to another session does not open. */
const flashContext = (idHash: string) => `console-flash:${idHash}`

const sealFlash = async (keyring: KeyringShape, idHash: string, flash: Flash | undefined) => {
  if (flash === undefined) return { keyId: null, iv: null, ciphertext: null }
  const sealed = await seal(keyring, JSON.stringify(flash), flashContext(idHash))
  return { keyId: sealed.keyId, iv: sealed.iv, ciphertext: sealed.ciphertext }
}

const openFlash = async (keyring: KeyringShape, idHash: string, row: Row): Promise<Flash | undefined> => {
  if (row.flash === null || row.flash_iv === null || row.flash_key_id === null) return undefined
  try {
    const sealed = { keyId: row.flash_key_id, iv: new Uint8Array(row.flash_iv), ciphertext: new Uint8Array(row.flash) }
    return JSON.parse(await openSealed(keyring, sealed, flashContext(idHash))) as Flash
  } catch {
    // Sealed under a master key this node no longer has: the flash is lost, the session is not.
    return undefined
  }
}

/**
 * Console sessions in PostgreSQL (the table of schema-pg.ts, migrated at start), shared by
 * every relay node. Rows are keyed by the hash of the session id and flashes are sealed, so a
 * copy of the table signs nobody in and shows no key. Signed-out sessions are bounded per
 * address and in all, as in memory; expired rows are purged as sessions are made.
 */
export const postgresConsoleSessions = (source: PostgresSource, options: SessionOptions): Layer.Layer<ConsoleSessions, never, Keyring> =>
  Layer.effect(
    ConsoleSessions,
    Effect.gen(function*() {
      const sql = yield* clientOf(source)
      const keyring = yield* Keyring
      let purgedAt = 0

      const live = async (id: string) => {
        const idHash = await sha256Hex(id)
        const [row] = await sql<Array<Row>>`
          SELECT csrf, principal, expires_at, flash_key_id, flash_iv, flash FROM console_sessions
          WHERE id_hash = ${idHash} AND expires_at > ${options.now()}`
        return row === undefined ? undefined : { idHash, row }
      }

      const sessionOf = async (id: string, idHash: string, row: Row): Promise<Session> => ({
        id,
        csrf: row.csrf,
        principal: row.principal === null ? undefined : JSON.parse(row.principal) as Principal,
        expiresAt: Number(row.expires_at),
        flash: await openFlash(keyring, idHash, row)
      })

      return ConsoleSessions.of({
        create: (principal, address, flash) =>
          query(async () => {
            const now = options.now()
            const id = randomBase62(32)
            const idHash = await sha256Hex(id)
            const session: Session = {
              id,
              csrf: randomBase62(32),
              principal,
              expiresAt: now + (principal === undefined ? options.anonymousTtlMs : options.ttlMs),
              flash
            }
            const sealed = await sealFlash(keyring, idHash, flash)
            await sql.begin(async (tx) => {
              if (now - purgedAt >= PURGE_EVERY_MS) {
                purgedAt = now
                await tx`DELETE FROM console_sessions WHERE expires_at <= ${now}`
              }
              if (principal === undefined) {
                // Room for one more signed-out session of this address, then of all addresses.
                await tx`
                  DELETE FROM console_sessions WHERE id_hash IN (
                    SELECT id_hash FROM console_sessions WHERE principal IS NULL AND address = ${address}
                    ORDER BY expires_at DESC OFFSET ${options.maxSignedOutPerAddress - 1})`
              }
              await tx`
                DELETE FROM console_sessions WHERE id_hash IN (
                  SELECT id_hash FROM console_sessions WHERE (principal IS NULL) = ${principal === undefined}
                  ORDER BY expires_at DESC OFFSET ${options.maxSessions - 1})`
              await tx`
                INSERT INTO console_sessions (id_hash, csrf, principal, address, expires_at, flash_key_id, flash_iv, flash)
                VALUES (${idHash}, ${session.csrf}, ${principal === undefined ? null : JSON.stringify(principal)}, ${address},
                        ${session.expiresAt}, ${sealed.keyId}, ${sealed.iv}, ${sealed.ciphertext})`
            })
            return session
          }),
        get: (id) =>
          query(async () => {
            const found = await live(id)
            return found === undefined ? undefined : sessionOf(id, found.idHash, found.row)
          }),
        remove: (id) => query(async () => void (await sql`DELETE FROM console_sessions WHERE id_hash = ${await sha256Hex(id)}`)),
        setFlash: (id, flash) =>
          query(async () => {
            const idHash = await sha256Hex(id)
            const sealed = await sealFlash(keyring, idHash, flash)
            await sql`
              UPDATE console_sessions SET flash_key_id = ${sealed.keyId}, flash_iv = ${sealed.iv}, flash = ${sealed.ciphertext}
              WHERE id_hash = ${idHash} AND expires_at > ${options.now()}`
          }),
        // Taken in one statement, so of two nodes asked at once only one hands it out.
        takeFlash: (id) =>
          query(async () => {
            const idHash = await sha256Hex(id)
            const [row] = await sql<Array<Row>>`
              UPDATE console_sessions s SET flash_key_id = NULL, flash_iv = NULL, flash = NULL
              FROM (SELECT id_hash, flash_key_id, flash_iv, flash FROM console_sessions WHERE id_hash = ${idHash} FOR UPDATE) old
              WHERE s.id_hash = old.id_hash AND s.expires_at > ${options.now()}
              RETURNING s.csrf, s.principal, s.expires_at, old.flash_key_id, old.flash_iv, old.flash`
            return row === undefined ? undefined : openFlash(keyring, idHash, row)
          })
      })
    })
  )
