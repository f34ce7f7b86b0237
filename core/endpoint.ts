import type { Effect } from "effect"
import type { RequestContext, ResolvedRequest, Surface } from "./context.ts"
import type { RelayError } from "./errors.ts"
import type { JsonRewrite } from "./sse/rewrite.ts"

/**
 * The wire protocol an upstream speaks: OpenAI chat completions (and the rest of OpenAI's API),
 * Anthropic Messages, or OpenAI's Responses API, which only OpenAI itself serves.
 */
export type Protocol = "openai" | "anthropic" | "openai-responses"

/** How the response to a request ended, as the endpoint reports it to the pipeline. */
export interface ResponseEnd {
  readonly status: number
  readonly aborted: boolean
  readonly error?: RelayError
}

/**
 * Hands a finished response to the pipeline, which settles the request exactly once. Resolves
 * once the settle is durable, with the error of a plugin that could not make it so: the end of
 * the answer (the last bytes of a stream) goes to the client only after that, and not at all
 * on an error, so that no answer is delivered whole without its charge on record.
 */
export type Finish = (ctx: RequestContext, end: ResponseEnd) => Promise<RelayError | undefined>

/** One way of serving an endpoint: the upstream speaks `protocol`. */
export interface EndpointLeg {
  /** Path below the provider's API root. */
  readonly path: string
  /**
   * Adjusts `ctx.body` for this upstream (model alias, caps, stream usage, translation); an
   * error refuses the request before anything is sent (a field the upstream cannot take).
   */
  readonly prepare: (ctx: ResolvedRequest) => RelayError | void
  /**
   * Turns the upstream's response into the client's. A non-streaming leg settles by returning;
   * a streaming leg returns at once and calls `finish` when the stream ends.
   */
  readonly respond: (
    ctx: ResolvedRequest,
    upstream: Response,
    finish: Finish
  ) => Effect.Effect<{ readonly response: Response; readonly streaming: boolean }, RelayError>
}

/** A proxied route: how its body is read and how each upstream protocol serves it. */
export interface Endpoint {
  /** The route below `/v1` (and `/byok/v1`), such as `/chat/completions`. */
  readonly route: string
  /**
   * What it does, in a line, for the docs page: an endpoint a plugin contributes is listed
   * there with it (`POST /v1` + `route`), and not listed without it.
   */
  readonly description?: string
  readonly surface: Surface
  /**
   * The upstream protocol that serves this route as it is (passthrough); the surface's own
   * when absent. The Responses API speaks OpenAI's error shape but is its own protocol.
   */
  readonly protocol?: Protocol
  /** Checks the parsed body and sets `ctx.model` and `ctx.stream`. */
  readonly decode: (ctx: RequestContext, body: Record<string, unknown>) => RelayError | undefined
  /**
   * Present on an upload endpoint: checks a multipart/form-data body's text fields (the files
   * stay where they are, in `ctx.rawBody`, located by `ctx.form`). Such an endpoint takes
   * bodies up to the upload limit.
   */
  readonly decodeForm?: (ctx: RequestContext, fields: Record<string, string>) => RelayError | undefined
  /**
   * Refuses a request its model makes invalid (a limit above the model's cap), once the model
   * is resolved and before admission: nothing is counted against the caller's limits or
   * reserved from its balance.
   */
  readonly check?: (ctx: ResolvedRequest) => RelayError | undefined
  readonly legs: Partial<Record<Protocol, EndpointLeg>>
  /**
   * Answers without the upstream when the provider speaks no protocol the endpoint has a leg
   * for (a token count estimated by the relay); without it, such a request is a 400.
   */
  readonly fallback?: (ctx: RequestContext) => Response
  /**
   * A change every JSON payload of the answer needs for this request (the model an alias
   * named; a product's own ids), given whether the leg passed the upstream's answer through.
   * Undefined keeps the answer as the leg made it.
   */
  readonly rewrite?: (ctx: RequestContext, passthrough: boolean) => JsonRewrite | undefined
}
