import { Context, Effect, type Layer } from "effect"
import { ConsoleSessions, type CoreServices, definePlugin, randomBase62, buildStore } from "../../core/index.ts"
import { consoleRoutes } from "./routes.tsx"
import { memoryConsoleSessions } from "./sessions.ts"

export { memoryConsoleSessions, type SessionOptions } from "./sessions.ts"

export interface ConsoleOptions {
  /** How long a sign-in lasts, in hours. */
  readonly sessionHours?: number
  /** Sessions kept at most (signed-out visitors included); the oldest go first. */
  readonly maxSessions?: number
  /** Where sessions are kept: a ConsoleSessions port implementation; this process's memory unless given. */
  readonly sessions?: Layer.Layer<ConsoleSessions, never, CoreServices>
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
      const sessions = yield* buildStore(
        options.sessions ?? memoryConsoleSessions({
          ttlMs: Math.round((options.sessionHours ?? 8) * 3_600_000),
          anonymousTtlMs: 30 * 60 * 1000,
          maxSessions: options.maxSessions ?? 10_000,
          maxSignedOutPerAddress: 32,
          now: Date.now
        }),
        Context.get(ConsoleSessions)
      )
      return {
        routes: (app, kit) => consoleRoutes(app, { kit, info, sessions, secret: randomBase62(43) })
      }
    }))
