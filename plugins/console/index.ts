import { Context, Effect, type Layer } from "effect"
import { ConsoleSessions, type CoreServices, definePlugin, randomBase62, buildStore, sha256Hex } from "../../core/index.ts"
import { consoleRoutes } from "./routes.tsx"
import { memoryConsoleSessions, type SessionOptions } from "./sessions.ts"

export { CONSOLE_PG_SCHEMA } from "./schema-pg.ts"
export { postgresConsoleSessions } from "./postgres.ts"
export { memoryConsoleSessions, type SessionOptions } from "./sessions.ts"

type SessionsLayer = Layer.Layer<ConsoleSessions, never, CoreServices>

export interface ConsoleOptions {
  /** How long a sign-in lasts, in hours. */
  readonly sessionHours?: number
  /** Sessions kept at most (signed-out visitors included); the oldest go first. */
  readonly maxSessions?: number
  /**
   * Where sessions are kept: a ConsoleSessions port implementation, or a function making one
   * with this plugin's lifetimes and bounds; this process's memory unless given.
   */
  readonly sessions?: SessionsLayer | ((options: SessionOptions) => SessionsLayer)
  /**
   * What the session cookie's signing key is derived from. Nodes that share sessions must share
   * it (the shipped config uses RELAY_MASTER_KEY then); unless given, each process draws its own.
   */
  readonly cookieSecret?: string
}

/**
 * The web console at `/console`, served by the relay itself. A user signs in with a relay key
 * and sees their balance, limits and usage, manages their keys and BYOK credentials; the
 * operator signs in with the admin key and manages accounts, tiers, credits and keys. Every
 * action goes through the same plugin operations as the JSON APIs.
 */
export const webConsole = (options: ConsoleOptions = {}) =>
  definePlugin("console", (info) =>
    Effect.gen(function*() {
      const lifetimes: SessionOptions = {
        ttlMs: Math.round((options.sessionHours ?? 8) * 3_600_000),
        anonymousTtlMs: 30 * 60 * 1000,
        maxSessions: options.maxSessions ?? 10_000,
        maxSignedOutPerAddress: 32,
        now: Date.now
      }
      const chosen = options.sessions ?? memoryConsoleSessions
      const sessions = yield* buildStore(typeof chosen === "function" ? chosen(lifetimes) : chosen, Context.get(ConsoleSessions))
      const secret = options.cookieSecret === undefined
        ? randomBase62(43)
        : yield* Effect.promise(() => sha256Hex(`rocket-relay console cookie\u0000${options.cookieSecret}`))
      return {
        routes: (app, kit) => consoleRoutes(app, { kit, info, sessions, secret })
      }
    }))
