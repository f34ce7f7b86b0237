import { chatCompletions, type Endpoint, InvalidRequest, type RequestContext } from "../../core/index.ts"

/**
 * The RocketAIRoom Chat API refuses a `max_tokens` above the model's cap with a 400, where the
 * other surfaces lower it to the cap (SPEC sections 9 and 10).
 */
const overCap = (ctx: RequestContext): InvalidRequest | undefined => {
  const cap = ctx.target?.entry?.maxOutputTokens
  if (cap === undefined) return undefined
  for (const field of ["max_tokens", "max_completion_tokens"]) {
    const value = ctx.body[field]
    if (typeof value === "number" && value > cap) {
      return new InvalidRequest({ message: `${field}: ${value} is above ${ctx.model}'s limit of ${cap} tokens`, param: field })
    }
  }
  return undefined
}

/**
 * `POST /v1/chat`: the RocketAIRoom Chat API. It takes the chat-completions body and answers
 * the chat.completion shape (streaming when asked), with the product's own `chat-` ids and the
 * house model's name, whatever upstream model the operator put behind it.
 */
export const rocketChat: Endpoint = {
  route: "/chat",
  description: "RocketAIRoom Chat API",
  surface: "openai",
  decode: chatCompletions.decode,
  check: overCap,
  legs: chatCompletions.legs,
  rewrite: (ctx) => (payload) => {
    if (typeof payload.id === "string") payload.id = `chat-${payload.id.replace(/^chatcmpl-/, "")}`
    if (typeof payload.model === "string") payload.model = ctx.model
  }
}
