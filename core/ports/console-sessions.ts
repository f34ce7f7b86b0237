import { Context, type Effect } from "effect"

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
  readonly flash: Flash | undefined
}

/**
 * Web console sessions. The browser holds only the (signed) id; a session that cannot be
 * found is signed out, which is the safe failure.
 */
export interface ConsoleSessionsShape {
  /**
   * A new session with a fresh id and CSRF token (a sign-in never keeps the old id), for a
   * visitor at `address`; signed-out sessions are bounded per address.
   */
  readonly create: (principal: Principal | undefined, address: string, flash?: Flash) => Effect.Effect<Session>
  /** The live session with this id; an expired one is gone. */
  readonly get: (id: string) => Effect.Effect<Session | undefined>
  readonly remove: (id: string) => Effect.Effect<void>
  /** Keeps a flash for the session's next page. */
  readonly setFlash: (id: string, flash: Flash) => Effect.Effect<void>
  /** Hands out the session's flash once. */
  readonly takeFlash: (id: string) => Effect.Effect<Flash | undefined>
}

export class ConsoleSessions extends Context.Service<ConsoleSessions, ConsoleSessionsShape>()("relay/ConsoleSessions") {}
