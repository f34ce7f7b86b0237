/** What every endpoint leg shares: preparing the upstream body and answering the client. */
import { Effect } from "effect"
import { type ChunkReader, readerOf, streamResponse } from "../chunk-reader.ts"
import { NO_BYTES, type RequestContext, type ResolvedRequest } from "../context.ts"
import type { Finish } from "../endpoint.ts"
import { type RelayError, UpstreamFailed } from "../errors.ts"
import { topLevelField } from "../json-field.ts"
import { isJsonSpace, USAGE_KEY } from "../sse/events.ts"
import { passthrough, type PassthroughHooks, type StreamInspector } from "../sse/passthrough.ts"
import { type StreamTranslator, translateStream } from "../sse/translate.ts"
import type { TargetModel } from "../translate/wire.ts"
import { reasons } from "../translate/reasoning.ts"
import { estimatedUsage, estimateTokens, type Usage } from "../usage.ts"
import { bytesOf, heldBytesOf, wholeResponse } from "../whole-body.ts"

export const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" }

/** What a failed stream ends with in the client's protocol: fixed bytes, or made when it fails. */
export type FailureEvent = Uint8Array | (() => Uint8Array)

export type LegResult = Effect.Effect<{ readonly response: Response; readonly streaming: boolean }, RelayError>

/**
 * The answer's headers: the request's (its id, the plugins' rate-limit state) with `base` set
 * over them. The request's own object, not a copy: the answer is the last use of them.
 */
export const withHeaders = (ctx: RequestContext, base: Record<string, string>): Headers => {
  const headers = ctx.responseHeaders
  for (const name in base) headers.set(name, base[name]!)
  return headers
}

/** The client named an alias: the upstream knows the model by another name. */
export const aliased = (ctx: RequestContext): boolean => ctx.target !== undefined && ctx.target.upstreamModel !== ctx.model

/** Sends the upstream its own name for an aliased model. */
export const useUpstreamModel = (ctx: ResolvedRequest): void => {
  const target = ctx.target
  if (target.upstreamModel !== ctx.model) ctx.setBodyField("model", target.upstreamModel)
}

/** The model a translated request is written for. */
export const translationTarget = (ctx: ResolvedRequest): TargetModel => {
  const target = ctx.target
  return {
    model: target.upstreamModel,
    maxOutputTokens: target.entry?.maxOutputTokens,
    reasoning: reasons(target.upstreamModel, target.entry)
  }
}

/** Lowers a token limit above the catalogued model's output cap to the cap (SPEC section 10). */
export const capTokens = (ctx: ResolvedRequest, field: string): void => {
  const cap = ctx.target.entry?.maxOutputTokens
  const value = ctx.body[field]
  if (cap !== undefined && typeof value === "number" && value > cap) ctx.setBodyField(field, cap)
}

/** The relay's own count of the prompt in `ctx.body`, for a stream cut before the upstream reported usage. */
export const promptEstimate = (ctx: RequestContext) => (): number =>
  estimateTokens(JSON.stringify(ctx.body.messages ?? "") + (ctx.body.system === undefined ? "" : JSON.stringify(ctx.body.system)))

/**
 * A streaming answer: `body` builds the client's stream on the streaming core with hooks that
 * time the first byte, and at the stream's end (whichever it is) set the usage and settle.
 */
const respondStream = (
  ctx: RequestContext,
  upstream: Response,
  finish: Finish,
  options: { readonly usage: () => Usage; readonly failureEvent: FailureEvent },
  body: (hooks: PassthroughHooks) => ChunkReader
): LegResult => {
  // The hooks live as long as the stream: they keep the status, not the upstream's Response.
  const status = upstream.status
  // So may the context, and a stream may stay open for minutes: the request's bytes, sent
  // already, are let go (its decoded body stays, for estimates and the plugins' settle).
  ctx.rawBody = NO_BYTES
  const hooks: PassthroughHooks = {
    firstByte: () => {
      ctx.ttfbMs = ctx.elapsedMs()
    },
    end: (end) => {
      ctx.usage = options.usage()
      return finish(ctx, {
        status,
        aborted: end.kind === "aborted",
        ...(end.kind === "failed" ? { error: new UpstreamFailed({ message: "the upstream stream failed" }) } : {})
      })
    },
    // Read when the stream fails: a protocol whose events are numbered (Responses) makes it then.
    get failureEvent() {
      const event = options.failureEvent
      return typeof event === "function" ? event() : event
    }
  }
  return Effect.succeed({
    response: streamResponse(body(hooks), { status, headers: withHeaders(ctx, SSE_HEADERS) }),
    streaming: true
  })
}

const readBody = (ctx: RequestContext, upstream: Response) => {
  // A body already in memory is taken in this step, without a turn through a promise.
  const held = heldBytesOf(upstream)
  const bytes = held !== undefined ? Effect.succeed(held) : Effect.tryPromise({
    try: () => bytesOf(upstream),
    catch: () => new UpstreamFailed({ message: "the upstream response could not be read" })
  })
  return bytes.pipe(Effect.map((bytes) => {
    ctx.ttfbMs = ctx.elapsedMs()
    return bytes
  }))
}

const decoder = new TextDecoder()
const encoder = new TextEncoder()

export interface PassthroughOptions {
  readonly tap: StreamInspector
  /** The stream's usage once it ended (the tap's reading, or an estimate). */
  readonly streamUsage: () => Usage
  /** Reads the `usage` field of a whole JSON body. */
  readonly bodyUsage: (usage: unknown) => Usage | undefined
  /** Sent when the upstream fails mid-stream, in the client's protocol. */
  readonly failureEvent: FailureEvent
  /** Reads more of a whole body than its usage (the id of a response the relay records). */
  readonly inspectBody?: (bytes: Uint8Array) => void
}

const EVENT_STREAM = /^text\/event-stream\b/i
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i

/**
 * The upstream's stream, when the client asked for one and the upstream sent one. Some
 * upstreams answer a stream request with a whole JSON body (an endpoint they cannot stream,
 * say): sent on as a stream, it would reach the client labelled `text/event-stream`, where no
 * SDK can read it, and its usage would go unread; it is answered whole instead. Anything else
 * (a stream labelled `text/plain`, say) is not what the surface promises: the SDKs may read it,
 * but the relay could not, and would charge nothing for it. A whole answer is read without
 * touching `body`, which would build a stream for it.
 */
const streamOf = (ctx: RequestContext, upstream: Response): ChunkReader | UpstreamFailed | undefined => {
  if (!ctx.stream) return undefined
  const type = upstream.headers.get("content-type") ?? ""
  if (EVENT_STREAM.test(type)) return readerOf(upstream)
  if (JSON_TYPE.test(type)) return undefined
  return notPromised(upstream, `the upstream answered a stream request with content type ${JSON.stringify(type.slice(0, 64))}`)
}

/** An answer the relay will not pass on: its body is let go, and the caller gets a 502. */
const notPromised = (upstream: Response, message: string) => {
  upstream.body?.cancel().catch(() => {})
  return new UpstreamFailed({ message })
}

/** Same protocol on both sides: the upstream's bytes reach the client as they are. */
export const respondPassthrough = (ctx: RequestContext, upstream: Response, finish: Finish, options: PassthroughOptions): LegResult => {
  const source = streamOf(ctx, upstream)
  if (source instanceof UpstreamFailed) return Effect.fail(source)
  if (source === undefined) {
    const estimate = (bytes: Uint8Array) => estimatedUsage(undefined, promptEstimate(ctx), estimateTokens(decoder.decode(bytes)))
    return respondWhole(ctx, upstream, options.bodyUsage, estimate, options.inspectBody)
  }
  return respondStream(ctx, upstream, finish, { usage: options.streamUsage, failureEvent: options.failureEvent }, (hooks) =>
    passthrough(source, options.tap, hooks))
}

const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d

/**
 * Whether `bytes` look like one JSON object, as every surface's whole answer is: braces at both
 * ends. Cheap on a body of megabytes (an embeddings or images answer), and enough to tell an
 * answer from plain text or a body cut short, which no SDK could use either.
 */
const isJsonObject = (bytes: Uint8Array): boolean => {
  let first = 0
  let last = bytes.length - 1
  while (first <= last && isJsonSpace(bytes[first])) first++
  while (last > first && isJsonSpace(bytes[last])) last--
  return last > first && bytes[first] === OPEN_BRACE && bytes[last] === CLOSE_BRACE
}

/**
 * A whole (non-streaming) upstream body, passed through as sent; `bodyUsage` reads its `usage`
 * field. The body must be a JSON object, as every surface promises: anything else is a 502,
 * never an answer passed on free. A body without usage is charged at `estimate`, if given.
 */
export const respondWhole = (
  ctx: RequestContext,
  upstream: Response,
  bodyUsage: (usage: unknown) => Usage | undefined,
  estimate?: (body: Uint8Array) => Usage,
  inspect?: (bytes: Uint8Array) => void
): LegResult =>
  readBody(ctx, upstream).pipe(Effect.flatMap((bytes) => {
    if (!isJsonObject(bytes)) return Effect.fail(new UpstreamFailed({ message: "the upstream answered with a body that is not a JSON object" }))
    // Only the usage is parsed: an answer of embeddings or images runs to megabytes.
    ctx.usage = bodyUsage(topLevelField(bytes, USAGE_KEY)) ?? estimate?.(bytes)
    inspect?.(bytes)
    const contentType = upstream.headers.get("content-type") ?? "application/json"
    return Effect.succeed({
      response: wholeResponse(bytes, { status: upstream.status, headers: withHeaders(ctx, { "content-type": contentType }) }),
      streaming: false
    })
  }))

export interface TranslatedOptions {
  /** The stream translator, made only for a streaming request. */
  readonly translator: () => StreamTranslator & { usage(): Usage }
  /** The upstream's whole JSON body in the client's protocol, and its usage. */
  readonly translateBody: (body: unknown) => { readonly body: unknown; readonly usage: Usage | undefined }
  readonly failureEvent: FailureEvent
}

/** Different protocols on the two sides: the upstream's answer is translated into the client's. */
export const respondTranslated = (ctx: RequestContext, upstream: Response, finish: Finish, options: TranslatedOptions): LegResult => {
  const source = streamOf(ctx, upstream)
  if (source instanceof UpstreamFailed) return Effect.fail(source)
  if (source !== undefined) {
    const translator = options.translator()
    return respondStream(ctx, upstream, finish, { usage: () => translator.usage(), failureEvent: options.failureEvent }, (hooks) =>
      translateStream(source, translator, hooks))
  }
  return readBody(ctx, upstream).pipe(Effect.flatMap((bytes) => {
    let parsed: unknown
    try {
      parsed = JSON.parse(decoder.decode(bytes))
    } catch {
      return Effect.fail(new UpstreamFailed({ message: "the upstream answered with a body that is not JSON" }))
    }
    const { body, usage } = options.translateBody(parsed)
    ctx.usage = usage
    return Effect.succeed({
      response: wholeResponse(encoder.encode(JSON.stringify(body)), { status: upstream.status, headers: withHeaders(ctx, { "content-type": "application/json" }) }),
      streaming: false
    })
  }))
}
