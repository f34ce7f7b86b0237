import { Context, Effect, Layer } from "effect"
import { buildStore, definePlugin, heuristicCount, type TokenCounter, TokenCounting } from "../../core/index.ts"

export interface TokenizerOptions {
  /**
   * Longest text given to the real tokenizer. Tokenizing costs CPU on the request path (tens
   * of microseconds per kilobyte); past this length the calibrated estimate is close enough,
   * since the upstream's own count corrects every estimate at settle.
   */
  readonly maxExactChars?: number
}

/** Model families that use OpenAI's o200k_base encoding. */
const O200K = /^(?:gpt-|o\d|chatgpt-|text-embedding-)/

/**
 * Characters per token where no tokenizer ships with the relay, measured on English prose and
 * code: Claude's tokenizer yields shorter tokens than OpenAI's, Gemini's about the same.
 */
const CHARS_PER_TOKEN: ReadonlyArray<readonly [RegExp, number]> = [
  [/^claude-/, 3.5],
  [/^gemini-/, 4]
]

const calibrated: TokenCounter = (text, model) => {
  for (const [family, ratio] of CHARS_PER_TOKEN) {
    if (family.test(model)) return text.length === 0 ? 0 : Math.ceil(text.length / ratio)
  }
  return heuristicCount(text, model)
}

/**
 * The TokenCounting port with OpenAI's real encoding for OpenAI models and a calibrated
 * estimate for the others. The encoding's tables hold about 50 MiB and take a quarter of a
 * second to load, so they load on the first count for an OpenAI model, in the background: that count,
 * and every one until the tables are ready, gets the estimate. A relay that never counts an
 * OpenAI model never loads them. Every count answers at once.
 */
export const tokenizerCounting = (options: TokenizerOptions = {}): Layer.Layer<TokenCounting> =>
  Layer.sync(TokenCounting, () => {
    const maxExactChars = options.maxExactChars ?? 32_768
    let exact: ((text: string) => number) | undefined
    let loading = false
    const load = () => {
      loading = true
      // Each step holds the event loop (on Node, about 150 ms to read the ranks' 2.4 MB module
      // and 90 ms to build the encoder from them; in the executable about twice that): one
      // step a turn, so that the requests in flight are served, and their stores' answers
      // read, in between.
      const nextTurn = () => new Promise((resolve) => setImmediate(resolve))
      void import("gpt-tokenizer/bpeRanks/o200k_base").then(
        async ({ default: ranks }) => {
          await nextTurn()
          const { GptEncoding } = await import("gpt-tokenizer/GptEncoding")
          const encoding = GptEncoding.getEncodingApi("o200k_base", () => ranks)
          await nextTurn()
          // The first count builds the encoder's lookups (about 9 ms on Node): done here, in
          // the background, it is no request's.
          encoding.countTokens("Warm up the encoder.")
          exact = encoding.countTokens
        }
      ).catch(
        // Counts stay estimates; the upstream's own count corrects each one at settle.
        () => undefined
      )
    }
    const counter: TokenCounter = (text, model) => {
      if (!O200K.test(model)) return calibrated(text, model)
      if (exact === undefined) {
        if (!loading) load()
        return calibrated(text, model)
      }
      return text.length <= maxExactChars ? exact(text) : calibrated(text, model)
    }
    return { count: (text, model) => Effect.sync(() => counter(text, model)) }
  })

/** Prompt token counts for admission: provides the TokenCounting port (see tokenizerCounting). */
export const tokenizer = (options: TokenizerOptions = {}) =>
  definePlugin("tokenizer", () => Effect.map(buildStore(tokenizerCounting(options), Context.get(TokenCounting)), (tokenCounting) => ({ tokenCounting })))
