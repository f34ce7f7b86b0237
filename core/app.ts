import { Context, Effect, Option } from "effect"
import { Hono } from "hono"
import type { Context as HonoContext, MiddlewareHandler } from "hono"
import { cors } from "hono/cors"
import { bearerToken } from "./bearer.ts"
import { type BodyPace, parseJsonObject, readBody } from "./body.ts"
import { AuthThrottle } from "./auth-throttle.ts"
import type { Catalog } from "./catalog.ts"
import { clientAddress } from "./client-address.ts"
import { entryOfRequest } from "./audit.ts"
import type { Caller, Surface } from "./context.ts"
import type { Endpoint } from "./endpoint.ts"
import { Internal, ModelNotFound, RateLimited, type RelayError, RouteNotFound, ShuttingDown, StoreUnavailable, Unauthorized } from "./errors.ts"
import type { RequestGate } from "./request-gate.ts"
import { storeRefusal } from "./store-health.ts"
import { AuditTrail, type ManagementServices, type ProvidedContext } from "./management.ts"
import { modelAllowed } from "./key-rules.ts"
import { modelList, modelObject } from "./models.ts"
import type { Pipeline } from "./pipeline.ts"
import type { PluginHooks, RouteKit } from "./plugin.ts"
import { randomBase62, secretsEqual } from "./secrets.ts"
import type { LogShape } from "./services.ts"
import { errorResponse } from "./surfaces/errors.ts"

export interface AppOptions {
  readonly pipeline: Pipeline
  readonly plugins: ReadonlyArray<PluginHooks>
  /** The services the plugins provide, gathered (see gatherServices): what routes reach state through. */
  readonly services: ProvidedContext
  readonly endpoints: ReadonlyArray<Endpoint>
  readonly catalog: Catalog
  /** Names of the configured providers: the model list shows only models they serve. */
  readonly providers: ReadonlyArray<string>
  readonly adminKey: string | undefined
  /** Browser origins allowed by CORS; undefined turns CORS off. */
  readonly corsOrigins: ReadonlyArray<string> | undefined
  readonly maxBodyBytes: number
  readonly bodyPace: BodyPace
  /** Failed authentications one client address may make per minute before it is refused. */
  readonly authFailuresPerMinute: number
  readonly log: LogShape
  /** Why the relay cannot serve (the store does not answer, or refuses writes); undefined when it can. */
  readonly unhealthy: () => string | undefined
  /** Lets requests in until the relay stops. */
  readonly gate: RequestGate
}

type Env = {
  Variables: {
    requestId: string
    proxied: boolean
    /** The caller a management route authenticated, and the body it read: for the audit log. */
    auditCaller: Caller | undefined
    auditBody: Record<string, unknown> | undefined
    /** The account a change touched, named by the route when neither path nor answer does. */
    auditAccount: string | undefined
  }
}

/** Management routes whose state changes the audit log records here (the console records its own). */
const AUDITED_PATHS = ["/admin/*", "/v1/account/*"]
const CHANGES_STATE = new Set(["POST", "PUT", "PATCH", "DELETE"])

/** The account a management answer names: its `account_id`, or its own `id` when it is an account. */
const answeredAccount = async (response: Response): Promise<string | undefined> => {
  if (!response.headers.get("content-type")?.startsWith("application/json")) return undefined
  const body = (await response.clone().json().catch(() => undefined)) as { id?: unknown; account_id?: unknown } | undefined
  if (typeof body?.account_id === "string") return body.account_id
  return typeof body?.id === "string" && body.id.startsWith("acct_") ? body.id : undefined
}

const RATE_LIMIT_HEADERS = [
  "x-ratelimit-limit",
  "x-ratelimit-remaining",
  "x-ratelimit-reset",
  "x-ratelimit-limit-tokens",
  "x-ratelimit-remaining-tokens"
]

const VISIBLE_ASCII = /^[\x20-\x7E]*$/

/**
 * A client's own request id, kept when it is visible ASCII and spaces, 1 to 256 characters once
 * trimmed; anything else (control characters, non-ASCII, empty, too long) gives undefined, and
 * the relay makes an id. The id is echoed in a header and written to logs and usage records:
 * nothing that could split a header or a log line may pass.
 */
export const clientRequestId = (sent: string | undefined): string | undefined => {
  if (sent === undefined || !VISIBLE_ASCII.test(sent)) return undefined
  const id = sent.trim()
  return id.length >= 1 && id.length <= 256 ? id : undefined
}

const surfaceOf = (path: string): Surface => (/^(?:\/byok)?\/v1\/messages(?:\/|$)/.test(path) ? "anthropic" : "openai")

/** An error in the caller's shape, carrying the request's id when it has one. */
const errorAnswer = (id: string | undefined, error: RelayError, surface: Surface) =>
  errorResponse(surface, error, new Headers(id ? { "x-request-id": id } : undefined))

/** The relay's HTTP handler, for the runtime's server. */
export interface RelayHttp {
  readonly fetch: (request: Request) => Response | Promise<Response>
}

/** The id a request goes by: the client's own when usable, else a new one. */
const requestIdOf = (request: Request): string => clientRequestId(request.headers.get("x-request-id") ?? undefined) ?? `req_${randomBase62(24)}`

/**
 * The path of a request's URL as sent, without its query; undefined when it is escaped (`%`),
 * which only the router's own decoding reads right.
 */
const plainPath = (url: string): string | undefined => {
  const start = url.indexOf("/", url.indexOf("//") + 2)
  const query = url.indexOf("?", start)
  const path = query < 0 ? url.slice(start) : url.slice(start, query)
  return path.includes("%") ? undefined : path
}

/**
 * The HTTP face of the relay: proxied endpoints, plugin routes, health, and error shapes.
 * Proxied endpoints are served without the router when no CORS middleware has to see them:
 * Hono's dispatch, context and middleware chain cost a relayed request about 12 us at
 * concurrency 1. Plugins act on proxied requests through their hooks; their routes (and any
 * middleware they add) see every other path.
 */
export const createApp = (options: AppOptions): RelayHttp => {
  const app = new Hono<Env>()
  const gate = options.gate
  const throttle = new AuthThrottle(options.authFailuresPerMinute)
  const kit = routeKit(options, throttle)

  /**
   * What every request passes through, whichever way it is served: a stopping relay's refusal,
   * the throttle of failed authentications, and its id on the answer.
   */
  const enter = async (request: Request, path: string, id: string, serve: () => Response | Promise<Response>): Promise<Response> => {
    // A stopping relay takes no new request, on any connection, and says so in the caller's
    // shape; `Connection: close` makes a kept-alive client open its next one elsewhere.
    if (!gate.enter()) {
      const response = path === "/healthz"
        ? Response.json({ status: "draining" }, { status: 503 })
        : errorAnswer(id, new ShuttingDown({ message: "the relay is shutting down; try again", retryAfterSeconds: 1 }), surfaceOf(path))
      response.headers.set("connection", "close")
      return response
    }
    const address = clientAddress(request)
    const wait = path === "/healthz" ? undefined : throttle.retryAfterSeconds(address)
    let response: Response
    try {
      if (wait !== undefined) {
        response = errorAnswer(id, new RateLimited({ message: "too many failed authentications from this address", retryAfterSeconds: wait }), surfaceOf(path))
      } else {
        response = await serve()
        // Every door that checks a secret answers 401 when it is wrong; the console's sign-in,
        // which answers with a page, reports its failures itself.
        if (response.status === 401) throttle.failed(address)
      }
    } finally {
      gate.leave()
    }
    response.headers.set("x-request-id", id)
    return response
  }

  /** The answer to an error no route expected: the store's refusal, or the relay's own failure. */
  const failed = (error: Error, path: string, id: string): Response => {
    // A write the store refused (a full disk, a lock held elsewhere) is the store's, not a bug.
    const refusal = storeRefusal(error)
    if (refusal !== undefined) {
      options.log.warn({ request_id: id, reason: refusal }, "the store refused a write")
      return errorAnswer(id, new StoreUnavailable({ message: `the relay cannot record this change right now (${refusal}); try again shortly`, retryAfterSeconds: 5 }), surfaceOf(path))
    }
    options.log.error({ request_id: id, error: `${error.name}: ${error.message}` }, "unhandled error")
    return errorAnswer(id, new Internal({ message: "the relay failed to handle this request" }), surfaceOf(path))
  }

  app.use(async (c, next) => {
    // The one place the id is read: the pipeline, error answers and logs all take it from here.
    const id = requestIdOf(c.req.raw)
    c.set("requestId", id)
    const startedAt = performance.now()
    const response = await enter(c.req.raw, c.req.path, id, async () => {
      await next()
      return c.res
    })
    // A refusal before any route ran (a stopping relay, a throttled address) is the answer.
    if (response !== c.res) c.res = response
    // A proxied request's line is the pipeline's, at settle; every other route (admin,
    // account, console, models) leaves a line here, so what an operator or a user did is in
    // the log too. Health probes are left out: they would drown it.
    if (!c.get("proxied") && c.req.path !== "/healthz") {
      options.log.info(
        { request_id: id, method: c.req.method, path: c.req.path, status: c.res.status, latency_ms: Math.round((performance.now() - startedAt) * 100) / 100 },
        "request"
      )
    }
  })

  if (options.corsOrigins !== undefined) {
    const origins = [...options.corsOrigins]
    app.use(cors({
      origin: origins.includes("*") ? "*" : origins,
      allowHeaders: ["authorization", "x-api-key", "content-type", "anthropic-version", "anthropic-beta", "x-request-id"],
      // Browsers hide response headers unless told: the rate-limit state is for the caller to read.
      exposeHeaders: [...RATE_LIMIT_HEADERS, "retry-after", "x-request-id"],
      maxAge: 600
    }))
  }

  // Every state change through the admin and account APIs, once it succeeded: who (the admin, or
  // the account and key that authenticated), what (the route and its fields, secrets left out)
  // and the request id. The answer is not held up by the record.
  const audit = Option.getOrUndefined(Context.getOption(options.services as Context.Context<ManagementServices>, AuditTrail))
  if (audit !== undefined) {
    const record: MiddlewareHandler<Env> = async (c, next) => {
      await next()
      if (!CHANGES_STATE.has(c.req.method) || c.res.status >= 400) return
      const caller = c.get("auditCaller")
      const admin = c.req.path.startsWith("/admin")
      if (!admin && caller === undefined) return
      void Effect.runPromise(audit.record(entryOfRequest({
        actor: admin ? { kind: "admin" } : { kind: "key", accountId: caller!.account.id, keyId: caller!.keyId },
        method: c.req.method,
        path: c.req.path,
        fields: c.get("auditBody"),
        // A path without the account's id (a new account, a key by its id): the answer names it.
        accountId: caller?.account.id ?? c.get("auditAccount") ?? (await answeredAccount(c.res)),
        requestId: c.get("requestId"),
        at: Date.now()
      })))
    }
    // Only on management paths: proxied requests do not pay for it.
    for (const path of AUDITED_PATHS) app.use(path, record)
  }

  app.get("/healthz", (c) => {
    const problem = options.unhealthy()
    return problem === undefined ? c.json({ status: "ok" }) : c.json({ status: "unavailable", reason: problem }, 503)
  })

  for (const endpoint of options.endpoints) {
    for (const [base, byok] of [["/v1", false], ["/byok/v1", true]] as const) {
      app.post(`${base}${endpoint.route}`, (c) => {
        c.set("proxied", true)
        return options.pipeline.handle(c.req.raw, endpoint, byok, c.get("requestId"))
      })
    }
  }

  const startedAt = Date.now()
  const served = new Set(options.providers)
  const listable = (id: string) => {
    const entry = options.catalog.entry(id)
    return entry !== undefined && served.has(entry.provider) ? entry : undefined
  }
  // The model list is a proxied route the relay answers itself: its answers carry the caller's
  // rate-limit state, as every proxied answer does, without counting against it.
  const answerWith = (headers: Headers, response: Response) => {
    for (const [name, value] of headers) response.headers.set(name, value)
    return response
  }
  for (const base of ["/v1", "/byok/v1"]) {
    app.get(`${base}/models`, async (c) => {
      const known = await options.pipeline.authenticateProxied(c.req.raw, c.get("requestId"))
      if (known instanceof Error) return kit.errorResponse(c, known)
      // A key with a model list sees only the models it may call.
      const models = known.caller.key?.models
      return answerWith(known.headers, c.json(modelList(options.catalog, (entry) => served.has(entry.provider) && modelAllowed(models, entry.id), startedAt)))
    })
    app.get(`${base}/models/:id{.+}`, async (c) => {
      const known = await options.pipeline.authenticateProxied(c.req.raw, c.get("requestId"))
      if (known instanceof Error) return kit.errorResponse(c, known)
      const entry = modelAllowed(known.caller.key?.models, c.req.param("id")) ? listable(c.req.param("id")) : undefined
      return answerWith(
        known.headers,
        entry === undefined
          ? kit.errorResponse(c, new ModelNotFound({ message: `model ${c.req.param("id")} is not available on this relay` }))
          : c.json(modelObject(entry, startedAt))
      )
    })
  }
  // Every admin route, whichever plugin adds it, sits behind the admin key.
  app.use("/admin/*", kit.requireAdmin)
  for (const plugin of options.plugins) plugin.routes?.(app as unknown as Hono, kit)

  app.notFound((c) =>
    kit.errorResponse(c, new RouteNotFound({ message: `no route for ${c.req.method} ${c.req.path}` }), surfaceOf(c.req.path)))

  app.onError((error, c) => failed(error, c.req.path, c.get("requestId")))

  // The proxied endpoints by path, for the way around the router.
  const proxied = new Map<string, { readonly endpoint: Endpoint; readonly byok: boolean }>()
  for (const endpoint of options.endpoints) {
    for (const [base, byok] of [["/v1", false], ["/byok/v1", true]] as const) proxied.set(`${base}${endpoint.route}`, { endpoint, byok })
  }
  const aroundRouter = options.corsOrigins === undefined
  return {
    fetch: (request) => {
      const path = aroundRouter && request.method === "POST" ? plainPath(request.url) : undefined
      const route = path === undefined ? undefined : proxied.get(path)
      if (route === undefined) return app.fetch(request)
      const id = requestIdOf(request)
      return enter(request, path!, id, () => options.pipeline.handle(request, route.endpoint, route.byok, id)).catch((error: unknown) =>
        failed(error instanceof Error ? error : new Error(String(error)), path!, id))
    }
  }
}

const routeKit = (options: AppOptions, throttle: AuthThrottle): RouteKit => {
  // A door reaches a service no configured plugin provides only through Effect.serviceOption.
  const services = options.services as Context.Context<ManagementServices>
  const errorResponseFor = (c: HonoContext, error: RelayError, surface: Surface = "openai") => errorAnswer(c.get("requestId") as string | undefined, error, surface)

  const adminKey = options.adminKey
  const isAdminKey = (secret: string) => adminKey !== undefined && adminKey !== "" && secretsEqual(secret, adminKey)

  const requireAdmin: MiddlewareHandler = async (c, next) => {
    // Without an admin key the admin API does not exist, rather than being open.
    if (adminKey === undefined || adminKey === "") {
      return errorResponseFor(c, new RouteNotFound({ message: `no route for ${c.req.method} ${c.req.path}` }))
    }
    const token = bearerToken(c.req.header("authorization"))
    if (token === undefined || !isAdminKey(token)) return errorResponseFor(c, new Unauthorized({ message: "invalid admin key" }))
    await next()
  }

  return {
    run: (effect) => Effect.runPromise(Effect.provideContext(Effect.match(effect, { onFailure: (e) => e, onSuccess: (a) => a }), services)),
    respond: (c, effect, status = 200) =>
      Effect.runPromise(Effect.provideContext(
        Effect.match(effect, { onFailure: (error) => errorResponseFor(c, error), onSuccess: (value) => c.json(value as object, status) }),
        services
      )),
    requireAdmin,
    isAdminKey,
    authFailed: (c) => throttle.failed(clientAddress(c.req.raw)),
    auditAccount: (c, accountId) => c.set("auditAccount", accountId),
    errorResponse: errorResponseFor,
    readJson: async (c) => {
      const bytes = await readBody(c.req.raw, options.maxBodyBytes, options.bodyPace)
      if (!(bytes instanceof Uint8Array)) return bytes
      // Admin and account calls may omit a body whose fields are all optional.
      const body = bytes.length === 0 ? {} : parseJsonObject(bytes)
      if (!(body instanceof Error)) c.set("auditBody", body)
      return body
    },
    authenticate: async (c) => {
      const caller = await options.pipeline.authenticate(c.req.raw, c.get("requestId") as string)
      if (!(caller instanceof Error)) c.set("auditCaller", caller)
      return caller
    },
    authenticateProxied: (c) => options.pipeline.authenticateProxied(c.req.raw, c.get("requestId") as string)
  }
}
