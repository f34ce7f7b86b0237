import assert from "node:assert/strict"
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, describe, it } from "node:test"
import { type RelayProcess, RUNTIME, type StartOptions, startRelay } from "../helpers/relay.ts"
import { BINARY } from "../helpers/runtimes.ts"

/**
 * A config as an operator writes it beside the single executable: TypeScript, taking the plugin
 * factories from its argument. Its one import is a type from a path that does not exist here,
 * which works because type imports are erased when the file is loaded.
 */
const OPERATOR_CONFIG = `import type { ConfigKit } from "./config/index.ts"

export default (relay: ConfigKit) => ({
  models: [{ id: "lookup-model", provider: "echo", kind: "chat" as const }],
  plugins: [relay.keys(), relay.echo()]
})
`

const chat = (relay: RelayProcess) =>
  fetch(`${relay.baseURL}/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${relay.firstRunKey}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "lookup-model", messages: [{ role: "user", content: "found it" }] })
  })

describe(`where the relay finds its config without RELAY_CONFIG (${RUNTIME})`, () => {
  const dirs: Array<string> = []
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "relay-lookup-"))
    dirs.push(dir)
    return dir
  }

  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  const serves = async (options: StartOptions) => {
    const relay = await startRelay({ ...options, env: { RELAY_CONFIG: undefined } })
    try {
      const response = await chat(relay)
      assert.equal(response.status, 200)
      const body = (await response.json()) as { choices: Array<{ message: { content: string } }> }
      assert.equal(body.choices[0]?.message.content, "found it")
    } finally {
      assert.equal(await relay.stop(), 0)
    }
  }

  it("reads relay.config.ts in the working directory", async () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, "relay.config.ts"), OPERATOR_CONFIG)
    await serves({ cwd })
  })

  it("as the single executable, reads the relay.config.ts beside itself", { skip: RUNTIME !== "binary" && "binary only" }, async () => {
    const home = tempDir()
    const executable = join(home, "relay")
    copyFileSync(BINARY, executable)
    writeFileSync(join(home, "relay.config.ts"), OPERATOR_CONFIG)
    await serves({ executable, cwd: tempDir() })
  })
})
