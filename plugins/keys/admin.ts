import { Effect, Result, Schema } from "effect"
import type { Hono } from "hono"
import { InvalidRequest, invalidFromSchema, parseUsd, type RateTier, type RouteKit, RouteNotFound } from "../../core/index.ts"
import type { KeyCache } from "./cache.ts"
import type { KeyRow, KeyStore } from "./store.ts"

const Limit = Schema.NullOr(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))

const CreateAccount = Schema.Struct({
  name: Schema.NonEmptyString,
  tier: Schema.optional(Schema.NonEmptyString),
  /** Opening credit in USD, booked by the billing plugin. */
  credits: Schema.optional(Schema.Union([Schema.String, Schema.Number]))
})
const UpdateAccount = Schema.Struct({
  tier: Schema.optional(Schema.NonEmptyString),
  rpm: Schema.optional(Limit),
  tpm: Schema.optional(Limit)
})
const CreateKey = Schema.Struct({ name: Schema.optional(Schema.String) })

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

const keyView = (row: KeyRow) => ({
  id: row.id,
  account_id: row.account_id,
  name: row.name,
  prefix: row.prefix,
  created_at: iso(row.created_at),
  revoked_at: iso(row.revoked_at)
})

interface AdminDeps {
  readonly store: KeyStore
  readonly cache: KeyCache
  readonly tiers: Readonly<Record<string, RateTier>>
  readonly defaultTier: string
  readonly issueKey: (accountId: string, name: string | null) => Effect.Effect<{ key: string; row: KeyRow }>
}

/** The admin API for accounts and keys (SPEC section 6). */
export const adminRoutes = (app: Hono, kit: RouteKit, deps: AdminDeps): void => {
  const { store, cache, tiers } = deps

  const decode = async <A, I>(c: Parameters<RouteKit["readJson"]>[0], schema: Schema.Codec<A, I>) => {
    const body = await kit.readJson(c)
    if (body instanceof Error) return body
    const result = Schema.decodeUnknownResult(schema)(body)
    return Result.isSuccess(result) ? result.success : invalidFromSchema(result.failure)
  }

  const unknownTier = (tier: string) =>
    new InvalidRequest({ message: `tier: unknown tier "${tier}"; configured tiers: ${Object.keys(tiers).join(", ")}`, param: "tier" })

  const noAccount = (id: string) => new RouteNotFound({ message: `no account ${id}` })

  app.post("/admin/accounts", async (c) => {
    const input = await decode(c, CreateAccount)
    if (input instanceof Error) return kit.errorResponse(c, input)
    const tier = input.tier ?? deps.defaultTier
    if (tiers[tier] === undefined) return kit.errorResponse(c, unknownTier(tier))
    const credits = input.credits === undefined ? undefined : parseUsd(input.credits)
    if (input.credits !== undefined && (credits === undefined || kit.credit === undefined)) {
      const message = kit.credit === undefined
        ? "credits: this relay keeps no balances (no billing plugin)"
        : "credits: expected a USD amount with at most 9 decimals, such as \"5.00\""
      return kit.errorResponse(c, new InvalidRequest({ message, param: "credits" }))
    }
    const account = store.createAccount(input.name, tier)
    if (credits !== undefined) kit.credit!(account.id, credits, "opening credit")
    return c.json(kit.accountView(account), 201)
  })

  app.get("/admin/accounts", (c) => c.json({ data: store.accounts().map(kit.accountView) }))

  app.get("/admin/accounts/:id", (c) => {
    const account = store.account(c.req.param("id"))
    return account ? c.json(kit.accountView(account)) : kit.errorResponse(c, noAccount(c.req.param("id")))
  })

  app.patch("/admin/accounts/:id", async (c) => {
    const id = c.req.param("id")
    const input = await decode(c, UpdateAccount)
    if (input instanceof Error) return kit.errorResponse(c, input)
    if (input.tier !== undefined && tiers[input.tier] === undefined) return kit.errorResponse(c, unknownTier(input.tier))
    const account = store.updateAccount(id, input)
    if (account === undefined) return kit.errorResponse(c, noAccount(id))
    // Cached callers carry the account: drop them so the change applies to the next request.
    cache.dropWhere((caller) => caller.account.id === id)
    return c.json(kit.accountView(account))
  })

  app.post("/admin/accounts/:id/keys", async (c) => {
    const id = c.req.param("id")
    const input = await decode(c, CreateKey)
    if (input instanceof Error) return kit.errorResponse(c, input)
    if (store.account(id) === undefined) return kit.errorResponse(c, noAccount(id))
    const { key, row } = await Effect.runPromise(deps.issueKey(id, input.name ?? null))
    return c.json({ ...keyView(row), key }, 201)
  })

  app.get("/admin/accounts/:id/keys", (c) => {
    const id = c.req.param("id")
    if (store.account(id) === undefined) return kit.errorResponse(c, noAccount(id))
    return c.json({ data: store.keys(id).map(keyView) })
  })

  app.delete("/admin/keys/:id", (c) => {
    const id = c.req.param("id")
    if (!store.revokeKey(id)) {
      return kit.errorResponse(c, new RouteNotFound({ message: `no active key ${id}` }))
    }
    cache.dropWhere((caller) => caller.keyId === id)
    return c.body(null, 204)
  })
}
