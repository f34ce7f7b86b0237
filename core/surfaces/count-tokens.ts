import type { Endpoint } from "../endpoint.ts"
import { estimateTokens } from "../usage.ts"
import { CountTokensRequest } from "./anthropic-schema.ts"
import { decodeWith } from "./decode.ts"
import { respondWhole, useUpstreamModel, withHeaders } from "./legs.ts"


type Block = { readonly type: string; readonly [field: string]: unknown }

const blockText = (block: Block): string => {
  switch (block.type) {
    case "text":
      return typeof block.text === "string" ? block.text : ""
    case "tool_use":
      return `${String(block.name)} ${JSON.stringify(block.input ?? {})}`
    case "tool_result":
      return typeof block.content === "string"
        ? block.content
        : Array.isArray(block.content)
        ? (block.content as ReadonlyArray<Block>).map(blockText).join("\n")
        : ""
    default:
      return ""
  }
}

/**
 * The text of an Anthropic prompt that the relay counts when it estimates: the system prompt,
 * every message's text, tool calls and results, and the tool definitions. Images and documents
 * are not counted.
 */
export const promptTextOfMessages = (body: CountTokensRequest): string => {
  const parts: Array<string> = []
  if (typeof body.system === "string") parts.push(body.system)
  else if (body.system !== undefined) parts.push(...body.system.map((block) => block.text))
  for (const message of body.messages) {
    parts.push(typeof message.content === "string" ? message.content : (message.content as ReadonlyArray<Block>).map(blockText).join("\n"))
  }
  if (body.tools !== undefined && body.tools.length > 0) parts.push(JSON.stringify(body.tools))
  return parts.join("\n")
}

/**
 * `POST /v1/messages/count_tokens`. An Anthropic upstream counts for itself; for any other
 * protocol (which has no such call) the relay answers with its own estimate of the prompt.
 */
export const countTokens: Endpoint = {
  route: "/messages/count_tokens",
  surface: "anthropic",
  decode: decodeWith(CountTokensRequest),
  legs: {
    anthropic: {
      path: "/v1/messages/count_tokens",
      prepare: useUpstreamModel,
      // A count is not a generation: it reports, and is charged, no usage.
      respond: (ctx, upstream) => respondWhole(ctx, upstream, () => undefined)
    }
  },
  fallback: (ctx) =>
    new Response(JSON.stringify({ input_tokens: estimateTokens(promptTextOfMessages(ctx.body as CountTokensRequest)) }), {
      status: 200,
      headers: withHeaders(ctx, { "content-type": "application/json" })
    })
}
