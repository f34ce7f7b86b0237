import { randomBase62 } from "../../core/index.ts"

/** Who a session is signed in as. A user is named by account and key id, never by the key. */
export type Principal =
  | { readonly kind: "admin" }
  | { readonly kind: "user"; readonly accountId: string; readonly keyId: string }

/** What the next page shows once: a notice, an error, or a key just issued (its only showing). */
export interface Flash {
  readonly notice?: string
  readonly error?: string
  readonly issuedKey?: { readonly key: string; readonly prefix: string; readonly name: string | null }
}

export interface Session {
  readonly id: string
  /** Sent back in every form; a POST without it is refused. */
  readonly csrf: string
  readonly principal: Principal | undefined
  readonly expiresAt: number
  flash: Flash | undefined
}

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
  private readonly signedIn = new Map<string, Session>()
  private readonly signedOut = new Map<string, Session>()
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
    const session: Session = {
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

  get(id: string): Session | undefined {
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
    const flash = session.flash
    session.flash = undefined
    return flash
  }
}
