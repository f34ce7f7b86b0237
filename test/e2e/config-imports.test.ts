import assert from "node:assert/strict"
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, describe, it } from "node:test"
import { ROOT, RUNTIME, startRelay } from "../helpers/relay.ts"

/**
 * A config from a checkout that imports the relay's own TypeScript modules and effect, as the
 * README shows, with a plugin of its own: on Node, `npm start` runs the relay compiled ahead of
 * time, with no TypeScript loader unless the config needs one (runtime/node-aot.mjs).
 */
const importingConfig = (root: string) => `import { Effect } from "effect"
import { defineConfig, echo, keys } from ${JSON.stringify(join(root, "config/index.ts"))}
import { definePlugin, RateLimited } from ${JSON.stringify(join(root, "core/index.ts"))}

/** Refuses every request as rate-limited: the relay answers 429 only if it knows the error. */
const refuseAll = definePlugin("refuse-all", () =>
  Effect.succeed({ admit: () => Effect.fail(new RateLimited({ message: "refused by the config's own plugin", retryAfterSeconds: 7 })) }))

export default defineConfig({
  models: [{ id: "own-model", provider: "echo", kind: "chat" }],
  plugins: [keys(), refuseAll, echo()]
})
`

describe(`a config that imports the relay's modules and effect (${RUNTIME})`, () => {
  // Beside the checkout's packages, where "effect" resolves, as for a config kept in a checkout.
  const dir = mkdtempSync(join(tmpdir(), "relay-config-imports-"))
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"))
  after(() => rmSync(dir, { recursive: true, force: true }))

  // The executable reads a config beside itself that takes the factories from its argument.
  it("runs its own plugin against the relay's services and errors", { skip: RUNTIME === "binary" && "a checkout's config, not the executable's" }, async () => {
    const config = join(dir, "importing.config.ts")
    writeFileSync(config, importingConfig(ROOT))
    const relay = await startRelay({ config })
    try {
      const response = await fetch(`${relay.baseURL}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${relay.firstRunKey}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "own-model", messages: [{ role: "user", content: "hi" }] })
      })
      assert.equal(response.status, 429, await response.clone().text())
      assert.equal(response.headers.get("retry-after"), "7")
    } finally {
      assert.equal(await relay.stop(), 0)
    }
  })
})
