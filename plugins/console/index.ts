import { Effect } from "effect"
import { definePlugin, randomBase62 } from "../../core/index.ts"
import { consoleRoutes } from "./routes.tsx"
import { Sessions } from "./sessions.ts"

export interface ConsoleOptions {
  /** How long a sign-in lasts, in hours. */
  readonly sessionHours?: number
  /** Sessions kept at most (signed-out visitors included); the oldest go first. */
  readonly maxSessions?: number
}

/**
 * The web console at `/console`, served by the relay itself. A user signs in with a relay key
 * and sees their balance, limits and usage, manages their keys and BYOK credentials; the
 * operator signs in with the admin key and manages accounts, tiers, credits and keys. Every
 * action goes through the same plugin operations as the JSON APIs.
 */
export const webConsole = (options: ConsoleOptions = {}) =>
  definePlugin("console", (info) =>
    Effect.sync(() => {
      const sessions = new Sessions({
        ttlMs: Math.round((options.sessionHours ?? 8) * 3_600_000),
        anonymousTtlMs: 30 * 60 * 1000,
        maxSessions: options.maxSessions ?? 10_000,
        maxSignedOutPerAddress: 32,
        now: Date.now
      })
      return {
        routes: (app, kit) => consoleRoutes(app, { kit, info, sessions, secret: randomBase62(43) })
      }
    }))
