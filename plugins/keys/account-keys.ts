import { Effect } from "effect"
import type { Hono } from "hono"
import { AccountDirectory, revokesKeys, type RouteKit, RouteNotFound } from "../../core/index.ts"
import { withSpend } from "./admin.ts"
import { keyChanges } from "./restrictions.ts"

/**
 * The account API for an account's own keys (SPEC section 15): a user makes keys for their
 * account no wider than the key they call with (a CI job's key limited to cheap models and $5
 * a month), lists them with their spend, and, with a key of no restrictions, revokes them.
 */
export const accountKeyRoutes = (app: Hono, kit: RouteKit): void => {
  app.get("/v1/account/keys", async (c) => {
    const caller = await kit.authenticate(c)
    if (caller instanceof Error) return kit.errorResponse(c, caller)
    return kit.respond(c, AccountDirectory.use((directory) => directory.keys(caller.account.id)).pipe(Effect.flatMap(withSpend), Effect.map((data) => ({ data }))))
  })

  app.post("/v1/account/keys", async (c) => {
    const caller = await kit.authenticate(c)
    if (caller instanceof Error) return kit.errorResponse(c, caller)
    const body = await kit.readJson(c)
    const input = body instanceof Error ? body : keyChanges(body)
    if (input instanceof Error) return kit.errorResponse(c, input)
    return kit.respond(
      c,
      AccountDirectory.use((directory) => directory.issueKey(caller.account.id, input.name ?? null, input, caller)).pipe(Effect.map((issued) => ({ ...issued.info, key: issued.key }))),
      201
    )
  })

  app.delete("/v1/account/keys/:id", async (c) => {
    const caller = await kit.authenticate(c)
    if (caller instanceof Error) return kit.errorResponse(c, caller)
    const id = c.req.param("id")
    if (!revokesKeys(caller)) return kit.errorResponse(c, new RouteNotFound({ message: `no active key ${id} this key may revoke` }))
    const revoked = await kit.run(AccountDirectory.use((directory) => directory.revokeKey(id, caller.account.id)))
    return revoked !== undefined ? c.body(null, 204) : kit.errorResponse(c, new RouteNotFound({ message: `no active key ${id}` }))
  })
}
