import assert from "node:assert/strict"
import type { TokenCountingShape } from "../../core/index.ts"
import { type ContractCase, run } from "./contract.ts"

/** Models of each family a counter may treat apart: OpenAI's, Anthropic's, Google's, and one nobody knows. */
const MODELS = ["gpt-4o-mini", "claude-sonnet-4-6", "gemini-2.5-flash", "some-local-model"]

const PROSE = "The relay reserves a request's prompt and its output allowance before it goes upstream, and settles the real count afterwards. "

/**
 * The TokenCounting port's contract: admission estimates close to what an upstream counts,
 * each answer the count of its own text. `make` answers a ready counter.
 */
export const tokenCountingContract = (make: () => Promise<TokenCountingShape>): ReadonlyArray<ContractCase> => [
  {
    name: "no text counts 0 tokens, any text at least 1",
    run: async () => {
      const counter = await make()
      for (const model of MODELS) {
        assert.equal(await run(counter.count("", model)), 0, model)
        for (const text of ["a", " ", "hi", "😀"]) {
          const counted = await run(counter.count(text, model))
          assert.ok(Number.isSafeInteger(counted) && counted >= 1, `${model}: ${JSON.stringify(text)} counted ${counted}`)
        }
      }
    }
  },
  {
    name: "English prose counts between two and eight characters a token, for every model",
    run: async () => {
      const counter = await make()
      const text = PROSE.repeat(30)
      for (const model of MODELS) {
        const counted = await run(counter.count(text, model))
        assert.ok(counted >= text.length / 8 && counted <= text.length / 2, `${model}: ${counted} tokens for ${text.length} characters`)
      }
    }
  },
  {
    name: "a text never counts more tokens than it has UTF-8 bytes",
    run: async () => {
      const counter = await make()
      for (const text of ["Grüße aus München — 東京 😀", "{\"a\":[1,2,3]}", "   lots    of     spaces   ", "x".repeat(5_000)]) {
        const bytes = new TextEncoder().encode(text).length
        for (const model of MODELS) {
          const counted = await run(counter.count(text, model))
          assert.ok(counted <= bytes, `${model}: ${counted} tokens for ${bytes} bytes`)
        }
      }
    }
  },
  {
    name: "concurrent counts each answer their own text",
    run: async () => {
      const counter = await make()
      // Ten times longer each: whatever the counter, the counts must come out in that order.
      const lengths = [1, 10, 100, 1_000]
      const asked = lengths.flatMap((words) => MODELS.map((model) => ({ words, model })))
      const counted = await Promise.all(asked.map(({ words, model }) => run(counter.count("word ".repeat(words), model))))
      for (const model of MODELS) {
        const ofModel = counted.filter((_, i) => asked[i]!.model === model)
        for (let i = 1; i < ofModel.length; i++) assert.ok(ofModel[i]! > ofModel[i - 1]!, `${model}: ${ofModel.join(", ")}`)
      }
    }
  }
]
