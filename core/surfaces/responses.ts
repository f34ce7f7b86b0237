import { Effect, Schema } from "effect"
import { type RequestContext, type ResolvedRequest, StateKey } from "../context.ts"
import type { Endpoint, EndpointLeg } from "../endpoint.ts"
import { InvalidRequest } from "../errors.ts"
import { topLevelField } from "../json-field.ts"
import { asciiPattern } from "../sse/events.ts"
import { ResponsesUsageTap } from "../sse/responses-usage-tap.ts"
import type { StreamTranslator } from "../sse/translate.ts"
import { anthropicToResponse, AnthropicToResponsesStream } from "../translate/responses-from-anthropic.ts"
import { chatToResponse, ChatToResponsesStream } from "../translate/responses-from-chat.ts"
import { inputItems } from "../translate/responses-input.ts"
import { ResponseBuilder } from "../translate/responses-output.ts"
import { isThinkingState, responsesToAnthropic } from "../translate/responses-to-anthropic.ts"
import { responsesToChat } from "../translate/responses-to-chat.ts"
import { estimatedUsage, fromResponsesUsage, type Usage } from "../usage.ts"
import { decodeWith, echoAlias } from "./decode.ts"
import { capTokens, promptEstimate, respondPassthrough, respondTranslated, translationTarget, useUpstreamModel } from "./legs.ts"
import { continuedFrom, responseKeeper } from "./responses-state.ts"
import { invalidAt } from "./schema-error.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const optionalNullable = <S extends Schema.Top>(schema: S) => Schema.optional(Schema.NullOr(schema))
const Typed = Schema.Struct({ type: Schema.optional(Schema.String) })

/**
 * The fields of a Responses request the relay relies on (PROTOCOLS.md 8). The rest goes to
 * OpenAI untouched, or is translated where another model can take it.
 */
export const ResponsesRequest = Schema.Struct({
  model: Schema.NonEmptyString,
  input: Schema.optional(Schema.Union([Schema.String, Schema.Array(Typed)])),
  instructions: optionalNullable(Schema.String),
  stream: optionalNullable(Schema.Boolean),
  max_output_tokens: optionalNullable(PositiveInt),
  temperature: optionalNullable(Schema.Number),
  top_p: optionalNullable(Schema.Number),
  tools: optionalNullable(Schema.Array(Schema.Struct({ type: Schema.String }))),
  parallel_tool_calls: optionalNullable(Schema.Boolean),
  previous_response_id: optionalNullable(Schema.String),
  store: optionalNullable(Schema.Boolean),
  include: optionalNullable(Schema.Array(Schema.String))
})

/** What a translated request keeps for its answer: the builder, and which tools are custom. */
interface Translation {
  readonly builder: ResponseBuilder
  readonly customTools: ReadonlySet<string>
}

const TRANSLATION = new StateKey<Translation>("responses/translation")

const FAILED = "the upstream stream failed"
const encoder = new TextEncoder()

/**
 * The request's settings a response object repeats, as OpenAI answers them (its defaults for
 * what the request left out).
 */
const echoOf = (body: Record<string, unknown>, previousId: string | undefined): Record<string, unknown> => {
  const reasoning = (body.reasoning ?? {}) as { effort?: unknown; summary?: unknown }
  return {
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: previousId ?? body.previous_response_id ?? null,
    reasoning: { effort: reasoning.effort ?? null, summary: reasoning.summary ?? null },
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: body.truncation ?? "disabled",
    ...(typeof body.prompt_cache_key === "string" ? { prompt_cache_key: body.prompt_cache_key } : {}),
    ...(typeof body.safety_identifier === "string" ? { safety_identifier: body.safety_identifier } : {})
  }
}

/**
 * Readies a translated request: the client's body is read for the answer (its settings, its
 * custom tools, its input for the store), then replaced by `translate`'s.
 */
const prepareTranslated = (
  ctx: RequestContext,
  translate: (body: Record<string, unknown>) => Record<string, unknown> | InvalidRequest
): InvalidRequest | void => {
  const body = ctx.body
  if (typeof body.previous_response_id === "string") {
    return invalidAt(
      "previous_response_id",
      `response ${body.previous_response_id} cannot be continued on ${ctx.model}: this relay does not keep it (OpenAI does, or no one): continue it on an OpenAI model, or send the whole conversation as input`
    )
  }
  const translated = translate(body)
  if (translated instanceof InvalidRequest) return translated
  const keeper = body.store === false ? undefined : responseKeeper(ctx)
  const input = inputItems(body.input)
  const summary = (body.reasoning as { summary?: unknown } | null | undefined)?.summary
  const builder = new ResponseBuilder({
    model: ctx.model,
    echo: echoOf(body, continuedFrom(ctx)),
    stream: ctx.stream,
    summaries: summary !== undefined && summary !== null,
    onFinish: keeper === undefined ? undefined : (response) => keeper.keep(response, input, false)
  })
  const customTools = new Set(
    ((body.tools ?? []) as ReadonlyArray<{ type?: unknown; name?: unknown }>).flatMap((tool) =>
      tool.type === "custom" && typeof tool.name === "string" ? [tool.name] : []
    )
  )
  ctx.set(TRANSLATION, { builder, customTools })
  ctx.body = translated
  ctx.bodyChanged = true
}

/** A translated leg's answer: the upstream's stream or body told through the response builder. */
const translatedLeg = (
  path: string,
  translate: (ctx: ResolvedRequest) => (body: Record<string, unknown>) => Record<string, unknown> | InvalidRequest,
  stream: (translation: Translation, promptTokens: () => number) => StreamTranslator & { usage(): Usage },
  whole: (raw: unknown, builder: ResponseBuilder, customTools: ReadonlySet<string>) => { body: unknown; usage: Usage | undefined }
): EndpointLeg => ({
  path,
  prepare: (ctx) => prepareTranslated(ctx, translate(ctx)),
  respond(ctx, upstream, finish) {
    // Its own prepare readied it: the pipeline prepares a leg before it sends.
    const translation = ctx.get(TRANSLATION)
    if (translation === undefined) return Effect.die(new Error(`the ${path} leg answers a request it did not prepare`))
    let failed: Uint8Array | undefined
    return respondTranslated(ctx, upstream, finish, {
      translator: () => stream(translation, promptEstimate(ctx)),
      translateBody: (body) => whole(body, translation.builder, translation.customTools),
      // Numbered after every event sent, so made once, when the stream fails.
      failureEvent: () => (failed ??= encoder.encode(translation.builder.fail("server_error", FAILED)))
    })
  }
})

/** Responses to a Claude model: translated to and from Anthropic Messages. */
export const anthropicResponsesLeg = translatedLeg(
  "/v1/messages",
  (ctx) => (body) => responsesToAnthropic(body, { ...translationTarget(ctx), clientModel: ctx.model }),
  ({ builder, customTools }, promptTokens) => new AnthropicToResponsesStream(builder, customTools, promptTokens),
  anthropicToResponse
)

/** Responses to an upstream that speaks only chat completions: translated to and from those. */
export const chatResponsesLeg = translatedLeg(
  "/chat/completions",
  (ctx) => (body) => responsesToChat(body, { ...translationTarget(ctx), clientModel: ctx.model }),
  ({ builder, customTools }, promptTokens) => new ChatToResponsesStream(builder, customTools, promptTokens),
  chatToResponse
)

const ID_KEY = asciiPattern('"id"')

/**
 * The failure event of a passed-through stream, numbered after the events the client got: the
 * started response as failed, or a bare `error` event when none had started.
 */
const passthroughFailure = (tap: ResponsesUsageTap) => () => {
  const sequence_number = tap.dataEvents
  const error = { code: "server_error", message: FAILED }
  const event = tap.started === undefined
    ? { type: "error", sequence_number, ...error, param: null }
    : { type: "response.failed", sequence_number, response: { ...tap.started, status: "failed", error } }
  return encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)
}

/** Responses to OpenAI: passed through, with the usage read from the terminal event. */
export const openAIResponsesLeg: EndpointLeg = {
  path: "/responses",
  prepare(ctx) {
    // Only a relay that records whose each response is may let one account continue one on
    // the operator's shared keys: without that record any account could reach another's.
    if (typeof ctx.body.previous_response_id === "string" && responseKeeper(ctx) === undefined && !ctx.byok) {
      return invalidAt("previous_response_id", "this relay keeps no record of responses, so none can be continued: send the whole conversation as input")
    }
    useUpstreamModel(ctx)
    capTokens(ctx, "max_output_tokens")
    // A kept response of another model continues here: its Claude thinking would only make
    // OpenAI refuse the request, as reasoning it cannot decrypt.
    if (continuedFrom(ctx) !== undefined && Array.isArray(ctx.body.input)) {
      const input = ctx.body.input as ReadonlyArray<{ type?: unknown; encrypted_content?: unknown }>
      if (input.some((item) => item.type === "reasoning" && isThinkingState(item.encrypted_content))) {
        ctx.setBodyField("input", input.filter((item) => !(item.type === "reasoning" && isThinkingState(item.encrypted_content))))
      }
    }
  },
  respond(ctx, upstream, finish) {
    const keeper = ctx.body.store === false ? undefined : responseKeeper(ctx)
    const tap = new ResponsesUsageTap(keeper === undefined ? undefined : (response) => keeper.keep(response, [], true))
    return respondPassthrough(ctx, upstream, finish, {
      tap,
      streamUsage: () => tap.usage ?? estimatedUsage(undefined, () => ctx.estimatedPromptTokens(), tap.dataEvents),
      bodyUsage: fromResponsesUsage,
      failureEvent: passthroughFailure(tap),
      ...(keeper === undefined ? {} : {
        inspectBody: (bytes: Uint8Array) => {
          const id = topLevelField(bytes, ID_KEY)
          if (typeof id === "string") keeper.keep({ id }, [], true)
        }
      })
    })
  }
}

/** `POST /v1/responses`: OpenAI's Responses API for any model, streaming and not. */
export const responses: Endpoint = {
  route: "/responses",
  surface: "openai",
  protocol: "openai-responses",
  decode: decodeWith(ResponsesRequest),
  legs: { "openai-responses": openAIResponsesLeg, anthropic: anthropicResponsesLeg, openai: chatResponsesLeg },
  rewrite: echoAlias((payload, model) => {
    if (payload.object === "response") payload.model = model
    const response = payload.response
    if (response !== null && typeof response === "object") (response as Record<string, unknown>).model = model
  })
}
