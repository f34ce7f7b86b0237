import { Cause, Effect, Exit, Fiber, type ManagedRuntime, Result } from "effect"
import { type BodyBudget, type BodyPace, parseJsonObject, readBody } from "./body.ts"
import { readerOf, streamResponse } from "./chunk-reader.ts"
import { whenClientGone } from "./client-gone.ts"
import { InFlight } from "./in-flight.ts"
import { formFields, readForm } from "./multipart.ts"
import type { Catalog } from "./catalog.ts"
import { type AdmittedRequest, type Caller, type Outcome, RequestContext, type ResolvedRequest } from "./context.ts"
import type { Endpoint, Finish } from "./endpoint.ts"
import { Internal, InvalidRequest, ModelNotFound, type RelayError, StoreUnavailable, Unauthorized } from "./errors.ts"
import type { PluginHooks, RequestObserver } from "./plugin.ts"
import type { ProviderAdapter, ProviderRegistryShape } from "./ports/provider-registry.ts"
import { heuristicTokenCounting, type TokenCountingShape } from "./ports/token-counting.ts"
import type { CoreServices, LogShape } from "./services.ts"
import { storeRefusal } from "./store-health.ts"
import { type JsonRewrite, rewriteBody, rewriteStream } from "./sse/rewrite.ts"
import { errorResponse } from "./surfaces/errors.ts"
import { bytesOf } from "./whole-body.ts"
import { invalidOutputLimit } from "./tokens.ts"

type Step<C = RequestContext> = (ctx: C) => Effect.Effect<void, RelayError>

type Answer = { readonly response: Response; readonly streaming: boolean }

/** An answer with every JSON payload rewritten, streamed or whole. */
const rewritten = (answer: Answer, rewrite: JsonRewrite): Effect.Effect<Answer, RelayError> => {
  const { response, streaming } = answer
  const init = { status: response.status, headers: response.headers }
  const reader = streaming ? readerOf(response) : undefined
  if (reader !== undefined) return Effect.succeed({ response: streamResponse(rewriteStream(reader, rewrite), init), streaming })
  return Effect.promise(() => bytesOf(response)).pipe(
    Effect.map((bytes) => ({ response: new Response(rewriteBody(bytes, rewrite), init), streaming }))
  )
}

/** Whether an authenticating plugin named the request's caller: only then is there someone to admit. */
const isKnown = (request: ResolvedRequest): request is AdmittedRequest => request.caller !== undefined

/** Requests settled in one turn of the event loop at most (see `settleFinished`). */
const SETTLE_BATCH = 256

/** Status logged for a request whose client went away before any response (nginx's 499). */
const CLIENT_CLOSED = 499

const sequence = <C>(steps: ReadonlyArray<Step<C>>): Step<C> => {
  if (steps.length === 0) return () => Effect.void
  // One plugin's step alone is that step: no loop around it on every request.
  if (steps.length === 1) return steps[0]!
  return (ctx) => Effect.forEach(steps, (step) => step(ctx), { discard: true })
}

export interface PipelineOptions {
  readonly runtime: ManagedRuntime.ManagedRuntime<CoreServices, never>
  readonly plugins: ReadonlyArray<PluginHooks>
  readonly catalog: Catalog
  /** The relay's provider registry (see combinedRegistry). */
  readonly providers: ProviderRegistryShape
  readonly log: LogShape
  readonly maxBodyBytes: number
  readonly maxUploadBytes: number
  readonly bodyPace: BodyPace
  /** Bytes of bodies each relay key may have arriving at once. */
  readonly bodyBudget: BodyBudget
}

/**
 * The request path, top to bottom: authenticate, read and decode the body, resolve the model,
 * admit, dispatch to the provider, answer; then settle every plugin exactly once, whether the
 * request succeeded, failed, or its client went away.
 */
export class Pipeline {
  private readonly authenticateStep: Step
  private readonly admit: Step<AdmittedRequest>
  private readonly settleHooks: ReadonlyArray<NonNullable<PluginHooks["settle"]>>
  private readonly observers: ReadonlyArray<RequestObserver>
  private readonly annotators: ReadonlyArray<NonNullable<PluginHooks["annotate"]>>
  private readonly tokens: TokenCountingShape
  private readonly admission: (request: ResolvedRequest) => Effect.Effect<void, RelayError>
  private readonly inflight = new InFlight()

  constructor(private readonly options: PipelineOptions) {
    const { plugins } = options
    this.authenticateStep = sequence(plugins.flatMap((p) => (p.authenticate ? [p.authenticate] : [])))
    this.admit = sequence(plugins.flatMap((p) => (p.admit ? [p.admit] : [])))
    this.settleHooks = plugins.flatMap((p) => (p.settle ? [p.settle] : [])).reverse()
    this.observers = plugins.flatMap((p) => (p.observe ? [p.observe] : []))
    this.annotators = plugins.flatMap((p) => (p.annotate ? [p.annotate] : []))
    const counter = plugins.find((p) => p.tokenCounting)?.tokenCounting
    this.tokens = counter ?? heuristicTokenCounting
    const judge = (request: ResolvedRequest) => (isKnown(request) ? this.admit(request) : Effect.void)
    // The prompt is counted once, before admission, so the admit steps and the legs read the
    // same estimate. A relay with no admit step and no counter of a plugin's leaves it to the
    // legs that ask (a stream whose upstream reported no usage), at four characters a token.
    this.admission = counter === undefined && !plugins.some((p) => p.admit)
      ? judge
      : (request) => Effect.flatMap(request.countPrompt(), () => judge(request))
  }

  /** Requests not yet settled. */
  get pending(): number {
    return this.inflight.count
  }

  async handle(request: Request, endpoint: Endpoint, byok: boolean, requestId: string): Promise<Response> {
    const ctx = new RequestContext(requestId, endpoint.surface, endpoint.route, request, byok, this.tokens)
    ctx.responseHeaders.set("x-request-id", requestId)
    // Anthropic's SDK reads the id under Anthropic's own header name (`_request_id`).
    if (endpoint.surface === "anthropic") ctx.responseHeaders.set("request-id", requestId)
    this.inflight.enter()
    // Run without run options: each one costs the runtime a copy of its defaults per request.
    const fiber = this.options.runtime.runFork(this.program(ctx, endpoint))
    const exit = await new Promise<Exit.Exit<Answer, RelayError>>((resolve) => {
      let unwatch: (() => void) | undefined
      let done = false
      fiber.addObserver((exit) => {
        done = true
        unwatch?.()
        resolve(exit)
      })
      // The client going away before the answer interrupts the request, and its upstream call.
      if (!done) unwatch = whenClientGone(request, () => void this.options.runtime.runFork(Fiber.interrupt(fiber)))
    })
    if (Exit.isSuccess(exit)) {
      const { response, streaming } = exit.value
      if (streaming) {
        if (!ctx.settled) this.notify(ctx, (observer) => observer.streamOpened?.(ctx))
        return response
      }
      // A whole answer is its own end: it leaves once its charge is on record, or not at all.
      const unrecorded = await this.finish(ctx, { status: response.status, aborted: false })
      if (unrecorded === undefined) return response
      await response.body?.cancel()
      return errorResponse(endpoint.surface, unrecorded, ctx.responseHeaders)
    }
    const failure = Cause.findError(exit.cause)
    if (Result.isFailure(failure) && Cause.hasInterruptsOnly(exit.cause)) {
      void this.finish(ctx, { status: CLIENT_CLOSED, aborted: true })
      return new Response(null, { status: CLIENT_CLOSED })
    }
    const error = Result.isSuccess(failure) ? failure.success : this.defect(ctx, exit.cause)
    await this.annotate(ctx)
    // An error answer carries no charge: it need not wait for the record.
    void this.finish(ctx, { status: error.status, aborted: false, error })
    return errorResponse(endpoint.surface, error, ctx.responseHeaders)
  }

  /** Runs the authenticating plugins alone, for routes outside the proxy (the account API). */
  async authenticate(request: Request, requestId: string): Promise<Caller | RelayError> {
    const known = await this.authenticated(request, requestId)
    return known instanceof Error ? known : known.caller
  }

  /**
   * Authenticates a proxied route the relay answers itself (the model list): its answer
   * carries the headers the plugins give a request they did not admit.
   */
  async authenticateProxied(request: Request, requestId: string): Promise<{ readonly caller: Caller; readonly headers: Headers } | RelayError> {
    const known = await this.authenticated(request, requestId)
    if (known instanceof Error) return known
    await this.annotate(known.ctx)
    return { caller: known.caller, headers: known.ctx.responseHeaders }
  }

  private async authenticated(request: Request, requestId: string): Promise<{ readonly ctx: RequestContext; readonly caller: Caller } | RelayError> {
    const ctx = new RequestContext(requestId, "openai", "/account", request, false, this.tokens)
    const exit = await this.options.runtime.runPromiseExit(this.authenticateStep(ctx))
    if (Exit.isSuccess(exit)) {
      const caller = ctx.caller
      return caller === undefined ? new Unauthorized({ message: "no plugin authenticates callers on this relay" }) : { ctx, caller }
    }
    const failure = Cause.findError(exit.cause)
    return Result.isSuccess(failure) ? failure.success : this.defect(ctx, exit.cause)
  }

  /**
   * Lets the plugins add their headers to an answer for a known caller they did not admit. A
   * plugin that fails to is logged and left out: the answer goes without its headers.
   */
  private async annotate(ctx: RequestContext): Promise<void> {
    if (ctx.caller === undefined) return
    for (const annotate of this.annotators) {
      const exit = await this.options.runtime.runPromiseExit(annotate(ctx))
      if (Exit.isFailure(exit)) this.logDefect(ctx, exit.cause)
    }
  }

  /** Resolves once every request has settled, or after `timeoutMs`; true if all settled. */
  drain(timeoutMs: number): Promise<boolean> {
    return this.inflight.idle(timeoutMs)
  }

  private program(ctx: RequestContext, endpoint: Endpoint) {
    const limit = endpoint.decodeForm ? this.options.maxUploadBytes : this.options.maxBodyBytes
    // The caller first: a stranger learns nothing from how its body is judged, and a known
    // caller's malformed request is still recorded against its account.
    return this.authenticateStep(ctx).pipe(
      Effect.flatMap(() => {
        // A body that has all arrived goes on in this step, without an asynchronous one.
        const unreadable = () => new InvalidRequest({ message: "request body could not be read" })
        const read = Effect.try({ try: () => readBody(ctx.request, limit, this.options.bodyPace, this.bodyOwner(ctx)), catch: unreadable })
        return Effect.flatMap(read, (bytes) => (bytes instanceof Promise ? Effect.tryPromise({ try: () => bytes, catch: unreadable }) : Effect.succeed(bytes)))
      }),
      Effect.flatMap((bytes) => {
        if (!(bytes instanceof Uint8Array)) return Effect.fail(bytes)
        const type = ctx.request.headers.get("content-type") ?? ""
        if (endpoint.decodeForm && /^multipart\/form-data/i.test(type)) return this.decodeForm(ctx, endpoint.decodeForm, bytes, type)
        const body = parseJsonObject(bytes)
        if (body instanceof InvalidRequest) return Effect.fail(body)
        ctx.rawBody = bytes
        ctx.body = body
        const invalid = endpoint.decode(ctx, ctx.body)
        if (invalid) return Effect.fail(invalid)
        const badLimit = invalidOutputLimit(body)
        return badLimit === undefined
          ? Effect.void
          : Effect.fail(new InvalidRequest({ message: `${badLimit} must be a positive whole number of tokens`, param: badLimit }))
      }),
      Effect.flatMap(() => this.resolve(ctx, endpoint)),
      Effect.tap(({ request }) => this.admission(request)),
      Effect.flatMap(({ request, provider }) => this.dispatch(request, provider, endpoint))
    )
  }

  private bodyOwner(ctx: RequestContext) {
    return ctx.caller === undefined ? undefined : { budget: this.options.bodyBudget, key: ctx.caller.keyId }
  }

  /** An upload: its text fields are read, its files left in the body that goes upstream. */
  private decodeForm(
    ctx: RequestContext,
    decode: NonNullable<Endpoint["decodeForm"]>,
    bytes: Uint8Array<ArrayBuffer>,
    type: string
  ): Effect.Effect<void, RelayError> {
    const form = readForm(bytes, type)
    if (form instanceof InvalidRequest) return Effect.fail(form)
    const fields = formFields(form.body, form.parts)
    if (fields instanceof InvalidRequest) return Effect.fail(fields)
    // What goes upstream is the form as read, rebuilt: exactly what is checked here.
    ctx.rawBody = form.body
    ctx.form = form.parts
    ctx.contentType = form.contentType
    ctx.body = fields
    const invalid = decode(ctx, fields)
    return invalid ? Effect.fail(invalid) : Effect.void
  }

  /** The request's model resolved to its catalog entry and the provider that serves it. */
  private resolve(ctx: RequestContext, endpoint: Endpoint): Effect.Effect<{ readonly request: ResolvedRequest; readonly provider: ProviderAdapter }, RelayError> {
    const target = this.options.catalog.resolve(ctx.model)
    const notFound = () => Effect.fail(new ModelNotFound({ message: `model ${ctx.model} is not available on this relay` }))
    if (target === undefined) return notFound()
    return Effect.flatMap(this.options.providers.get(target.provider), (provider) => {
      if (provider === undefined) return notFound()
      const request = Object.assign(ctx, { target })
      const refused = endpoint.check?.(request)
      return refused ? Effect.fail(refused) : Effect.succeed({ request, provider })
    })
  }

  private dispatch(ctx: ResolvedRequest, provider: ProviderAdapter, endpoint: Endpoint) {
    // The caller's own protocol when the provider speaks it (passthrough), else the first the
    // provider prefers that the endpoint can translate to.
    const own = endpoint.protocol ?? endpoint.surface
    const protocol = provider.protocols.includes(own) && endpoint.legs[own] !== undefined
      ? own
      : provider.protocols.find((p) => endpoint.legs[p] !== undefined)
    const leg = protocol === undefined ? undefined : endpoint.legs[protocol]
    if (protocol === undefined || leg === undefined) {
      if (endpoint.fallback) return Effect.succeed({ response: endpoint.fallback(ctx), streaming: false })
      return Effect.fail(
        new InvalidRequest({ message: `model ${ctx.model} cannot be served on ${endpoint.route}`, param: "model" })
      )
    }
    const refused = leg.prepare(ctx)
    if (refused) return Effect.fail(refused)
    const body = ctx.upstreamBody()
    const rewrite = endpoint.rewrite?.(ctx, protocol === own)
    const answer = provider.send({ ctx, protocol, path: leg.path, body, contentType: ctx.contentType }).pipe(
      Effect.flatMap((upstream) => leg.respond(ctx, upstream, this.finish))
    )
    return rewrite === undefined ? answer : answer.pipe(Effect.flatMap((result) => rewritten(result, rewrite)))
  }

  private readonly finish: Finish = (ctx, end) => {
    if (ctx.settled) return Promise.resolve(undefined)
    ctx.settled = true
    const outcome: Outcome = {
      status: end.status,
      error: end.error,
      aborted: end.aborted,
      usage: ctx.usage,
      latencyMs: ctx.elapsedMs(),
      ttfbMs: ctx.ttfbMs
    }
    // After this turn of the event loop, together with every other request that finished in
    // it, so that plugins can write one batch for all (one commit for their charges). A request
    // alone in the relay has nobody to share a batch with: it settles at once, without the
    // wait for the loop's next turn.
    return new Promise((done) => {
      this.finished.push({ ctx, outcome, done })
      if (!this.settling) {
        this.settling = true
        if (this.inflight.count === 1) queueMicrotask(this.settleFinished)
        else setImmediate(this.settleFinished)
      }
    })
  }

  private finished: Array<{
    readonly ctx: RequestContext
    readonly outcome: Outcome
    readonly done: (unrecorded: RelayError | undefined) => void
  }> = []
  private settling = false

  /**
   * Settles what finished, at most SETTLE_BATCH per turn of the event loop: when thousands of
   * streams end at once, other requests (a health check, a new stream) are served between
   * the batches instead of after all of them.
   */
  private readonly settleFinished = () => {
    const batch = this.finished.length <= SETTLE_BATCH ? this.finished : this.finished.splice(0, SETTLE_BATCH)
    if (batch === this.finished) this.finished = []
    for (const { ctx, outcome, done } of batch) void this.settle(ctx, outcome, done)
    if (this.finished.length > 0) setImmediate(this.settleFinished)
    else this.settling = false
  }

  /**
   * Runs every settle hook, then tells `done` (with the error of one that could not make its
   * record durable): the answer's end leaves then, and the observers and the log line after.
   */
  private async settle(ctx: RequestContext, outcome: Outcome, done: (unrecorded: RelayError | undefined) => void) {
    let unrecorded: RelayError | undefined
    if (this.settleHooks.length > 0) {
      await this.options.runtime.runPromise(
        Effect.forEach(
          this.settleHooks,
          (settle) =>
            Effect.catchCause(settle(ctx, outcome), (cause) => {
              const failure = Cause.findError(cause)
              if (Result.isSuccess(failure)) unrecorded = failure.success
              else this.logDefect(ctx, cause)
              return Effect.void
            }),
          { discard: true }
        )
      ).catch((error) => this.logDefect(ctx, Cause.die(error)))
    }
    done(unrecorded)
    this.told.push({ ctx, outcome, unrecorded })
    if (this.told.length === 1) setImmediate(this.tell)
  }

  /** Settled requests whose observers and log line wait for their answers to leave. */
  private told: Array<{ readonly ctx: RequestContext; readonly outcome: Outcome; readonly unrecorded: RelayError | undefined }> = []

  /**
   * Tells the observers and writes the log lines of what settled, once the answers those
   * settles released have been written: neither is on an answer's path, and the line's
   * serialising and writing would otherwise delay the answer it describes.
   */
  private readonly tell = () => {
    const told = this.told
    this.told = []
    for (const { ctx, outcome, unrecorded } of told) {
      this.notify(ctx, (observer) => observer.settled(ctx, outcome))
      this.logRequest(ctx, outcome, unrecorded)
      this.inflight.leave()
    }
  }

  /** Tells every observer; a failing observer is logged and never fails the request. */
  private notify(ctx: RequestContext, tell: (observer: RequestObserver) => void) {
    for (const observer of this.observers) {
      try {
        tell(observer)
      } catch (error) {
        this.logDefect(ctx, Cause.die(error))
      }
    }
  }

  private defect(ctx: RequestContext, cause: Cause.Cause<unknown>): RelayError {
    const refusal = this.logDefect(ctx, cause)
    if (refusal !== undefined) {
      return new StoreUnavailable({ message: `the relay cannot serve this request right now (${refusal}); try again shortly`, retryAfterSeconds: 5 })
    }
    return new Internal({ message: "the relay failed to handle this request" })
  }

  /**
   * Logs a failure no step expected, by name and message only (no stack, no internal path),
   * and answers the store's refusal when that is what it was. A store that refused or could not
   * be reached (a full disk, a database away) is the store's, not a bug, wherever it surfaced:
   * in a step, a settle or an annotation. The caller may retry.
   */
  private logDefect(ctx: RequestContext, cause: Cause.Cause<unknown>): string | undefined {
    const error = Cause.squash(cause)
    const refusal = storeRefusal(error)
    if (refusal !== undefined) {
      this.options.log.warn({ request_id: ctx.id, reason: refusal }, "the store refused a request")
      return refusal
    }
    this.options.log.error(
      { request_id: ctx.id, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) },
      "unexpected failure"
    )
    return undefined
  }

  private logRequest(ctx: RequestContext, outcome: Outcome, unrecorded: RelayError | undefined) {
    const usage = outcome.usage
    this.options.log.request({
      request_id: ctx.id,
      account: ctx.caller?.account.id,
      route: ctx.route,
      byok: ctx.byok,
      model: ctx.model || undefined,
      provider: ctx.target?.provider,
      stream: ctx.stream,
      status: outcome.status,
      aborted: outcome.aborted || undefined,
      error: (outcome.error ?? unrecorded)?.code,
      prompt_tokens: usage?.promptTokens,
      completion_tokens: usage?.completionTokens,
      cached_tokens: usage?.cachedTokens,
      usage_source: usage?.source,
      latency_ms: Math.round(outcome.latencyMs * 100) / 100,
      ttfb_ms: outcome.ttfbMs === undefined ? undefined : Math.round(outcome.ttfbMs * 100) / 100
    })
  }
}
