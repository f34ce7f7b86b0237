import assert from "node:assert/strict"
import { Effect } from "effect"
import type { ProviderAdapter, ProviderRegistryShape } from "../../core/index.ts"
import { type ContractCase, run } from "./contract.ts"

/** An adapter that sends nothing: the registry only holds it. */
const adapter = (name: string, patterns: ReadonlyArray<string> = [`${name}-*`]): ProviderAdapter => ({
  name,
  patterns,
  protocols: ["openai"],
  send: () => Effect.die(new Error(`${name} sends nothing in the registry's contract`))
})

/**
 * The ProviderRegistry port's contract: `make` answers a registry holding the given adapters,
 * in config order.
 */
export const providerRegistryContract = (make: (adapters: ReadonlyArray<ProviderAdapter>) => Promise<ProviderRegistryShape>): ReadonlyArray<ContractCase> => [
  {
    name: "gets each adapter by its name, and nothing for a name it does not hold",
    run: async () => {
      const held = [adapter("openai"), adapter("anthropic"), adapter("echo")]
      const registry = await make(held)
      for (const one of held) assert.equal(await run(registry.get(one.name)), one)
      assert.equal(await run(registry.get("google")), undefined)
      assert.equal(await run(registry.get("")), undefined)
    }
  },
  {
    name: "lists every adapter in the order given, the order their model patterns are tried in",
    run: async () => {
      const held = [adapter("catchall", ["*"]), adapter("openai"), adapter("anthropic")]
      const registry = await make(held)
      assert.deepEqual(await run(registry.list()), held)
      // Asking again answers the same.
      assert.deepEqual((await run(registry.list())).map((a) => a.name), ["catchall", "openai", "anthropic"])
    }
  },
  {
    name: "a name held twice is served by the later adapter, and both are listed",
    run: async () => {
      const first = adapter("openai", ["gpt-*"])
      const second = adapter("openai", ["o1*"])
      const registry = await make([first, adapter("echo"), second])
      assert.equal(await run(registry.get("openai")), second)
      assert.deepEqual((await run(registry.list())).map((a) => a.patterns), [["gpt-*"], ["echo-*"], ["o1*"]])
    }
  },
  {
    name: "an empty registry lists and gets nothing",
    run: async () => {
      const registry = await make([])
      assert.deepEqual(await run(registry.list()), [])
      assert.equal(await run(registry.get("openai")), undefined)
    }
  },
  {
    name: "concurrent gets each answer their own adapter",
    run: async () => {
      const held = Array.from({ length: 8 }, (_, i) => adapter(`provider-${i}`))
      const registry = await make(held)
      const asked = [...held, ...held].reverse()
      const got = await Promise.all(asked.map((one) => run(registry.get(one.name))))
      got.forEach((answer, i) => assert.equal(answer, asked[i]))
    }
  }
]
