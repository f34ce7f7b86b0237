import { Context as Services, Effect, Exit, type Layer, Option } from "effect"
import type { Context, Hono } from "hono"
import {
  buildStore,
  type Caller,
  type CoreServices,
  CredentialVault,
  definePlugin,
  inputItems,
  InvalidRequest,
  Log,
  type LogShape,
  type RelayError,
  type RelayInfo,
  RequestContext,
  type RouteKit,
  RouteNotFound,
  setContinued,
  setResponseKeeper,
  StateKey,
  type StoredResponse,
  StoredResponses,
  type StoredResponsesShape
} from "../../core/index.ts"
import { sqliteResponses } from "./store.ts"

export { postgresResponses } from "./postgres.ts"
export { RESPONSES_PG_SCHEMA } from "./schema-pg.ts"
export { sqliteResponses } from "./store.ts"

export interface ResponseStoreOptions {
  /** Days a stored response can be continued, read and listed; OpenAI keeps its own 30 days. */
  readonly retentionDays?: number
  /** Where responses are kept: a StoredResponses port implementation; the relay's SQLite store unless given. */
  readonly store?: Layer.Layer<StoredResponses, never, CoreServices>
}

/** A response being written: the request's settle waits for it, so its end leaves once it can be continued. */
const KEEPING = new StateKey<Promise<void>>("responses/keeping")

interface Kept {
  readonly store: StoredResponsesShape
  readonly retentionMs: number
}

const DAY_MS = 86_400_000

const notFound = (id: string) => new RouteNotFound({ message: `No response found with id '${id}'.` })

/**
 * Stored responses (SPEC section 14). A response the relay translated (a Claude model's, say)
 * is kept with its input for its account, so `previous_response_id` continues it on any model
 * and `GET`, `DELETE` and `input_items` answer for it. A response OpenAI keeps itself is only
 * recorded as the account's: those calls go to OpenAI, and no account reaches another's.
 */
export const responseStore = (options: ResponseStoreOptions = {}) =>
  definePlugin("responses", (info) =>
    Effect.gen(function*() {
      const store = yield* buildStore(options.store ?? sqliteResponses, Services.get(StoredResponses))
      const kept: Kept = { store, retentionMs: (options.retentionDays ?? 30) * DAY_MS }
      const log = yield* Log
      return {
        admit: (ctx: RequestContext) => admit(kept, log, ctx),
        // Before the answer's end leaves, the response is written: a continuation sent the
        // moment it arrives finds it, on whichever node it lands.
        settle: (ctx: RequestContext) => {
          const keeping = ctx.get(KEEPING)
          return keeping === undefined ? Effect.void : Effect.promise(() => keeping)
        },
        routes: (app: Hono, kit: RouteKit) => routes(app, kit, store, info)
      }
    }))

/**
 * Hands a Responses request its keeper, and puts the turns of the response it continues (one
 * the relay keeps) before its input.
 */
const admit = ({ store, retentionMs }: Kept, log: LogShape, ctx: RequestContext): Effect.Effect<void, RelayError> => {
  const caller = ctx.caller
  if (ctx.route !== "/responses" || caller === undefined) return Effect.void
  const account = caller.account.id
  setResponseKeeper(ctx, {
    keep: (response, input, upstream) => {
      if (typeof response.id !== "string") return
      const now = Date.now()
      const entry = upstream
        ? { id: response.id, provider: ctx.target?.provider ?? null, byok: ctx.byok }
        : { id: response.id, provider: null, byok: ctx.byok, response, input }
      const previous = ctx.get(KEEPING) ?? Promise.resolve()
      ctx.set(
        KEEPING,
        previous.then(() => Effect.runPromise(store.put(account, entry, now, now + retentionMs))).catch((error: unknown) => {
          // The answer itself is whole: the client still gets it, only unable to continue from it.
          log.error({ request_id: ctx.id, error: error instanceof Error ? error.message : String(error) }, "response could not be stored")
        })
      )
    }
  })
  const previous = ctx.body.previous_response_id
  if (typeof previous !== "string") return Effect.void
  return Effect.flatMap(store.get(account, previous, Date.now()), (kept) => {
    // On the caller's own OpenAI key an id the relay never saw is theirs for OpenAI to judge.
    if (kept === undefined) return ctx.byok ? Effect.void : Effect.fail(notFound(previous))
    if (kept.provider !== null || kept.response === undefined) return Effect.void
    const output = Array.isArray(kept.response.output) ? kept.response.output : []
    ctx.setBodyField("input", [...kept.input, ...output, ...inputItems(ctx.body.input)])
    ctx.setBodyField("previous_response_id", undefined)
    setContinued(ctx, previous)
    return Effect.void
  })
}

/** `?limit=` and `?order=` of an input-item listing, as OpenAI takes them. */
const listingOf = (c: Context): { readonly limit: number; readonly order: "asc" | "desc" } | InvalidRequest => {
  const raw = c.req.query("limit") ?? "20"
  const limit = /^\d+$/.test(raw) ? Number(raw) : 0
  if (limit < 1 || limit > 100) return new InvalidRequest({ message: "limit: expected a whole number from 1 to 100", param: "limit" })
  const order = c.req.query("order") ?? "desc"
  if (order !== "asc" && order !== "desc") return new InvalidRequest({ message: "order: expected asc or desc", param: "order" })
  return { limit, order }
}

/** A kept response's input items, listed as OpenAI lists them; an item without an id gets one by position. */
const inputItemList = (kept: StoredResponse, listing: { readonly limit: number; readonly order: "asc" | "desc" }) => {
  const items = kept.input.map((item, i) => {
    const record = item as Record<string, unknown>
    return { ...(record.type === undefined ? { type: "message" } : {}), ...record, id: typeof record.id === "string" ? record.id : `${kept.id}_input_${i}` }
  })
  const ordered = listing.order === "asc" ? items : items.reverse()
  const page = ordered.slice(0, listing.limit)
  return { object: "list", data: page, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: ordered.length > page.length }
}

const routes = (app: Hono, kit: RouteKit, store: StoredResponsesShape, info: RelayInfo) => {
  /**
   * Sends a call on a response its provider keeps to that provider: with the operator's keys, or
   * for one made with the caller's own key (BYOK), with that key again.
   */
  const forward = async (c: Context, caller: Caller, kept: StoredResponse, method: "GET" | "DELETE", path: string): Promise<Response> => {
    const provider = kept.provider === null ? undefined : await Effect.runPromise(info.providers.get(kept.provider))
    if (provider === undefined) return kit.errorResponse(c, notFound(kept.id))
    const requestId = c.get("requestId") as string
    const ctx = new RequestContext(requestId, "openai", "/responses", c.req.raw, kept.byok)
    if (kept.byok) {
      const secret = await kit.run(Effect.flatMap(Effect.serviceOption(CredentialVault), (vault) =>
        Option.isSome(vault) ? vault.value.secretFor(caller.account.id, provider.name, requestId) : Effect.succeed(undefined)))
      if (secret instanceof Error) return kit.errorResponse(c, secret)
      ctx.credential = secret
    }
    const exit = await Effect.runPromiseExit(
      provider.send({ ctx, protocol: "openai-responses", path, body: "", contentType: "application/json", method })
    )
    if (Exit.isFailure(exit)) {
      const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
      return kit.errorResponse(c, error?._tag === "Fail" ? error.error : notFound(kept.id))
    }
    const upstream = exit.value
    return new Response(upstream.body, { status: upstream.status, headers: { "content-type": upstream.headers.get("content-type") ?? "application/json" } })
  }

  /**
   * Answers for the caller's kept response named by the path (404 when the account has none
   * such); the answer carries the caller's rate-limit headers, as every proxied answer does.
   */
  const answer = async (c: Context, respond: (caller: Caller, kept: StoredResponse) => Response | Promise<Response>): Promise<Response> => {
    const known = await kit.authenticateProxied(c)
    if (known instanceof Error) return kit.errorResponse(c, known)
    const id = c.req.param("id")!
    const kept = await Effect.runPromise(store.get(known.caller.account.id, id, Date.now()))
    const response = kept === undefined ? kit.errorResponse(c, notFound(id)) : await respond(known.caller, kept)
    for (const [name, value] of known.headers) response.headers.set(name, value)
    return response
  }

  for (const base of ["/v1", "/byok/v1"]) {
    app.get(`${base}/responses/:id`, (c) =>
      answer(c, (caller, kept) => kept.provider === null ? c.json(kept.response) : forward(c, caller, kept, "GET", `/responses/${encodeURIComponent(kept.id)}`)))
    app.get(`${base}/responses/:id/input_items`, (c) =>
      answer(c, (caller, kept) => {
        if (kept.provider !== null) return forward(c, caller, kept, "GET", `/responses/${encodeURIComponent(kept.id)}/input_items${new URL(c.req.url).search}`)
        const listing = listingOf(c)
        return listing instanceof InvalidRequest ? kit.errorResponse(c, listing) : c.json(inputItemList(kept, listing))
      }))
    app.delete(`${base}/responses/:id`, (c) =>
      answer(c, async (caller, kept) => {
        if (kept.provider === null) {
          await Effect.runPromise(store.remove(caller.account.id, kept.id))
          return c.json({ id: kept.id, object: "response", deleted: true })
        }
        const deleted = await forward(c, caller, kept, "DELETE", `/responses/${encodeURIComponent(kept.id)}`)
        if (deleted.ok) await Effect.runPromise(store.remove(caller.account.id, kept.id))
        return deleted
      }))
  }
}
