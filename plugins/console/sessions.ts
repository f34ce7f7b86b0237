import { Effect, Layer } from "effect"
import { ConsoleSessions, type Flash, type Principal, randomBase62, type Session } from "../../core/index.ts"

export type { Flash, Principal, Session } from "../../core/index.ts"

/** A session as kept here: its flash is replaced in place. */
type HeldSession = { -readonly [K in keyof Session]: Session[K] }

export interface SessionOptions {
  /** Lifetime of a signed-in session. */
  readonly ttlMs: number
  /** Lifetime of a signed-out one, which exists only to carry the sign-in form's CSRF token. */
  readonly anonymousTtlMs: number
  /**
   * Sessions kept at most, signed-in and signed-out ones each; the oldest go first. Kept apart
   * so that a flood of visits can neither fill memory nor push anyone out of a signed-in session.
   */
  readonly maxSessions: number
  /**
   * Signed-out sessions one client address may hold; its oldest goes first. A visitor who
   * opens the console many times (a flood of cookie-less visits) pushes out only their own
   * sign-in forms, never another visitor's.
   */
  readonly maxSignedOutPerAddress: number
  readonly now: () => number
}

/**
 * Console sessions, held in this process's memory: a restart signs everyone out, which is
 * the safe failure. The browser holds only the (signed) id.
 */
export class Sessions {
  private readonly signedIn = new Map<string, HeldSession>()
  private readonly signedOut = new Map<string, HeldSession>()
  /** The signed-out session ids of each address, oldest first (some may have ended since). */
  private readonly signedOutBy = new Map<string, Array<string>>()

  constructor(private readonly options: SessionOptions) {}

  /**
   * A new session with a fresh id and CSRF token (a sign-in never keeps the old id), for a
   * visitor at `address`.
   */
  create(principal: Principal | undefined, address: string, flash?: Flash): Session {
    const now = this.options.now()
    const sessions = principal === undefined ? this.signedOut : this.signedIn
    for (const [id, session] of sessions) if (session.expiresAt <= now) sessions.delete(id)
    if (principal === undefined) this.makeRoomFor(address)
    while (sessions.size >= this.options.maxSessions) sessions.delete(sessions.keys().next().value!)
    const session: HeldSession = {
      id: randomBase62(32),
      csrf: randomBase62(32),
      principal,
      expiresAt: now + (principal === undefined ? this.options.anonymousTtlMs : this.options.ttlMs),
      flash
    }
    sessions.set(session.id, session)
    if (principal === undefined) this.signedOutBy.get(address)!.push(session.id)
    return session
  }

  /** Leaves `address` room for one more signed-out session, at the cost of its own oldest. */
  private makeRoomFor(address: string) {
    const ids = (this.signedOutBy.get(address) ?? []).filter((id) => this.signedOut.has(id))
    while (ids.length >= this.options.maxSignedOutPerAddress) this.signedOut.delete(ids.shift()!)
    this.signedOutBy.set(address, ids)
    // Addresses whose sessions have all ended are forgotten, so that the index stays as small as the sessions.
    if (this.signedOutBy.size > this.signedOut.size + 1) {
      for (const [other, list] of this.signedOutBy) if (other !== address && !list.some((id) => this.signedOut.has(id))) this.signedOutBy.delete(other)
    }
  }

  get(id: string): HeldSession | undefined {
    const session = this.signedIn.get(id) ?? this.signedOut.get(id)
    if (session === undefined || session.expiresAt > this.options.now()) return session
    this.delete(id)
    return undefined
  }

  delete(id: string): void {
    this.signedIn.delete(id)
    this.signedOut.delete(id)
  }

  /** Hands out the flash once. */
  takeFlash(session: Session): Flash | undefined {
    const held = this.get(session.id)
    const flash = held?.flash
    if (held !== undefined) held.flash = undefined
    return flash
  }

  setFlash(id: string, flash: Flash): void {
    const held = this.get(id)
    if (held !== undefined) held.flash = flash
  }
}

/**
 * The ConsoleSessions port over sessions in this process's memory: a restart signs everyone
 * out, and several relay nodes would each know only their own.
 */
export const memoryConsoleSessions = (options: SessionOptions): Layer.Layer<ConsoleSessions> =>
  Layer.sync(ConsoleSessions, () => {
    const sessions = new Sessions(options)
    return ConsoleSessions.of({
      create: (principal, address, flash) => Effect.sync(() => sessions.create(principal, address, flash)),
      get: (id) => Effect.sync(() => sessions.get(id)),
      remove: (id) => Effect.sync(() => sessions.delete(id)),
      setFlash: (id, flash) => Effect.sync(() => sessions.setFlash(id, flash)),
      takeFlash: (id) =>
        Effect.sync(() => {
          const session = sessions.get(id)
          return session === undefined ? undefined : sessions.takeFlash(session)
        })
    })
  })
