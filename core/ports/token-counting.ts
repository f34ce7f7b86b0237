import { Context, Effect } from "effect"
import { heuristicCount } from "../tokens.ts"

/**
 * Counts the tokens of a prompt's text for admission estimates (rate windows, balance
 * reservations) before the upstream has counted anything. The upstream's count corrects every
 * estimate at settle, so an answer must be close and cheap, not exact; it runs once per request
 * on the request path, so an implementation that can answer at once answers with
 * `Effect.succeed` or `Effect.sync`, without a fiber of its own.
 */
export interface TokenCountingShape {
  /** The tokens of `text` for `model`: 0 for no text, at least 1 for any. */
  readonly count: (text: string, model: string) => Effect.Effect<number>
}

export class TokenCounting extends Context.Service<TokenCounting, TokenCountingShape>()("relay/TokenCounting") {}

/** About four characters of English per token: what the relay counts with when no plugin offers a counter. */
export const heuristicTokenCounting: TokenCountingShape = {
  count: (text, model) => Effect.succeed(heuristicCount(text, model))
}
