import { Result, Schema } from "effect"
import type { RequestContext } from "../context.ts"
import type { Endpoint } from "../endpoint.ts"
import type { JsonRewrite } from "../sse/rewrite.ts"
import { aliased } from "./legs.ts"
import { invalidFromSchema } from "./schema-error.ts"
import { compileGuard } from "./schema-guard.ts"

/** Longer is no model name, and is not worth recording. */
const MODEL_NAME_MAX = 256

/** What every request schema has: the model, and whether to stream. */
interface Routed {
  readonly model: string
  readonly stream?: boolean | "true" | "false" | null | undefined
}

/** What every request's answer goes by: its model, and whether it streams. */
const route = (ctx: RequestContext, request: Routed): undefined => {
  ctx.model = request.model
  ctx.stream = request.stream === true || request.stream === "true"
  return undefined
}

/**
 * An endpoint's `decode` from its request schema: a schema failure is a 400 naming the field;
 * a valid body sets `ctx.model` and `ctx.stream`, then `then` reads what else it needs.
 * Without `then`, nothing reads the decoded request but its model and stream, which are the
 * body's own: a body the schema's guard accepts goes on without being decoded.
 */
export const decodeWith = <A extends Routed, I>(
  schema: Schema.Codec<A, I>,
  then?: (ctx: RequestContext, request: A) => void
) => {
  const decode = Schema.decodeUnknownResult(schema)
  const accepted = then === undefined ? compileGuard(schema) : undefined
  return (ctx: RequestContext, body: unknown) => {
    if (accepted?.(body)) return route(ctx, body as Routed)
    const result = decode(body)
    if (Result.isFailure(result)) {
      // The usage record and log line of the refusal still say which model was asked for.
      const model = typeof body === "object" && body !== null ? (body as Record<string, unknown>).model : undefined
      if (typeof model === "string" && model.length <= MODEL_NAME_MAX) ctx.model = model
      return invalidFromSchema(result.failure)
    }
    route(ctx, result.success)
    then?.(ctx, result.success)
    return undefined
  }
}

/**
 * An endpoint's `rewrite` for aliases: a passed-through answer names the upstream's model,
 * so `apply` puts back the name the client asked for. Translated answers already use it.
 */
export const echoAlias = (apply: (payload: Record<string, unknown>, model: string) => void): NonNullable<Endpoint["rewrite"]> =>
  (ctx, passthrough): JsonRewrite | undefined => (passthrough && aliased(ctx) ? (payload) => apply(payload, ctx.model) : undefined)
