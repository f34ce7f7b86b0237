import { Context, Effect, type Layer } from "effect"
import {
  AccountDirectory,
  Accounts,
  accountView,
  buildStore,
  type Caller,
  type CoreServices,
  definePlugin,
  Fanout,
  localFanout,
  modelAllowed,
  ModelNotAllowed,
  Operator,
  randomBase62,
  RateTiers,
  type RequestContext,
  Unauthorized
} from "../../core/index.ts"
import { accountKeyRoutes } from "./account-keys.ts"
import { adminRoutes } from "./admin.ts"
import { keyFromHeaders } from "./api-key.ts"
import { KeyCache } from "./cache.ts"
import { makeDirectory } from "./directory.ts"
import { refusalOf } from "./refusal.ts"
import { sqliteAccounts } from "./sqlite.ts"

export { KEYS_PG_SCHEMA } from "./schema-pg.ts"
export { postgresAccounts } from "./postgres.ts"
export { sqliteAccounts } from "./sqlite.ts"

export interface KeysOptions {
  /**
   * How long a validated key is trusted before the store is asked again: the longest a key
   * revoked from another process keeps working. Revocations through this relay apply at once.
   */
  readonly revalidateMs?: number
  readonly cacheSize?: number
  /** Where accounts and keys are stored: an implementation of the Accounts port; the relay's SQLite store unless given. */
  readonly store?: Layer.Layer<Accounts, never, CoreServices>
  /**
   * How a revocation or an account change here reaches the other nodes' caches (they drop
   * their cached keys at once): this process alone unless given.
   */
  readonly fanout?: Layer.Layer<Fanout, never, CoreServices>
}

const missingKey = new Unauthorized({
  message: "missing API key: send it as `Authorization: Bearer sk-rr-...` or `x-api-key`"
})
const invalidKey = new Unauthorized({ message: "invalid or revoked API key" })

/** A caller the key's restrictions let through, set on the request. */
const admitCaller = (ctx: RequestContext, caller: Caller) => {
  const refused = refusalOf(caller, Date.now())
  if (refused !== undefined) return Effect.fail(refused)
  ctx.caller = caller
  return Effect.void
}

/** Relay API keys: authentication, accounts, the admin API for both, and the first-run key. */
export const keys = (options: KeysOptions = {}) =>
  definePlugin("keys", (info) =>
    Effect.gen(function*() {
      const store = yield* buildStore(options.store ?? sqliteAccounts, Context.get(Accounts))
      const operator = yield* Operator
      const fanout = yield* buildStore(options.fanout ?? localFanout, Context.get(Fanout))
      // This node's name in its announcements: it has dropped what its own changes touch.
      const node = randomBase62(12)
      const cache = new KeyCache(options.revalidateMs ?? 500, options.cacheSize ?? 10_000, Date.now, () => Effect.runFork(fanout.publish("keys", node)))
      // Another node revoked a key or changed an account (or messages were missed): every
      // cached key is asked of the store again.
      yield* fanout.subscribe("keys", (from) => from !== node && cache.clear())
      const directory = makeDirectory({ store, cache, tiers: () => Context.get(info.services(), RateTiers) })

      const lookup = (ctx: RequestContext, key: string) =>
        directory.holderOf(key).pipe(Effect.flatMap((caller) => {
          if (caller === undefined) {
            cache.delete(key)
            return Effect.fail(invalidKey)
          }
          cache.put(key, caller)
          return admitCaller(ctx, caller)
        }))

      return {
        authenticate: (ctx) => {
          const key = keyFromHeaders(ctx.request.headers)
          if (key === undefined) return Effect.fail(missingKey)
          const cached = cache.fresh(key)
          if (cached !== undefined) return admitCaller(ctx, cached)
          return lookup(ctx, key)
        },
        // The key's model list, once the model is known (on every surface, /byok/v1 too).
        admit: (ctx) => {
          const models = ctx.caller?.key?.models
          if (models === null || models === undefined || modelAllowed(models, ctx.model)) return Effect.void
          return Effect.fail(new ModelNotAllowed({ message: `this API key may not call model ${ctx.model}; it may call: ${models.join(", ")}` }))
        },
        services: Context.make(AccountDirectory, directory),
        routes: (app, kit) => {
          adminRoutes(app, kit)
          accountKeyRoutes(app, kit)
          app.get("/v1/account", async (c) => {
            const caller = await kit.authenticate(c)
            return caller instanceof Error ? kit.errorResponse(c, caller) : c.json(await kit.run(accountView(caller.account)))
          })
        },
        start: Effect.gen(function*() {
          const account = yield* store.createFirstAccount("default", (yield* RateTiers).defaultTier)
          if (account === undefined) return
          const issued = yield* Effect.result(directory.issueKey(account.id, "first-run"))
          if (issued._tag === "Failure") return
          const { key } = issued.success
          operator.notice(
            [
              "Rocket Relay: first start, created account \"default\" with this API key (shown once, store it now):",
              "",
              `  ${key}`,
              ""
            ].join("\n")
          )
        })
      }
    }))
