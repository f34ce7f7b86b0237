import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { createAccount } from "../helpers/accounts.ts"
import { clientBin } from "../helpers/clients.ts"
import { MockAnthropic } from "../helpers/mock-anthropic.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { eventually, ROOT, type RelayProcess, startRelay } from "../helpers/relay.ts"

const CONFIG = join(ROOT, "test/fixtures/relay.responses-config.ts")
const OPENAI_KEY = "sk-codex-openai"
const ANTHROPIC_KEY = "sk-ant-codex"
const SECRET = "the secret word is pelican"
/** The mocks' script: the model runs this command with Codex's shell tool, then quotes its output. */
const TASK = `Read task.txt and tell me the secret word. <call tool="exec_command">{"cmd":"cat task.txt"}</call>`

/**
 * Codex's configuration for the relay: a custom model provider speaking the Responses API with
 * the relay key from an environment variable, and nothing that reaches for the internet (update
 * checks, analytics, plugin and app sync).
 */
const codexConfig = (model: string, baseURL: string) => `
model = "${model}"
model_provider = "relay"
model_reasoning_effort = "low"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false

[analytics]
enabled = false

[features]
plugins = false
remote_plugin = false
plugin_sharing = false
apps = false
in_app_updates = false

[model_providers.relay]
name = "Rocket Relay"
base_url = "${baseURL}"
env_key = "RELAY_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
`

interface CodexRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** `codex exec` in a throw-away HOME, its only network the relay (any other address hits a closed port). */
const runCodex = (home: string, work: string, key: string): Promise<CodexRun> => {
  const child = spawn(clientBin("codex"), ["exec", "--skip-git-repo-check", "-C", work, TASK], {
    cwd: work,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      CODEX_HOME: join(home, ".codex"),
      RELAY_API_KEY: key,
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      NO_PROXY: "127.0.0.1,localhost"
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text))
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text))
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000)
  return new Promise((resolve) =>
    child.once("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    }))
}

describe("Codex CLI (codex exec) through /v1/responses", () => {
  const openai = new MockOpenAI({ [OPENAI_KEY]: "ok" })
  const anthropic = new MockAnthropic({ [ANTHROPIC_KEY]: "ok" })
  let relay: RelayProcess
  let key: string
  const homes: Array<string> = []

  before(async () => {
    const [openaiUrl, anthropicUrl] = await Promise.all([openai.start(), anthropic.start()])
    relay = await startRelay({
      config: CONFIG,
      env: { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: openaiUrl, ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: anthropicUrl }
    })
    key = (await createAccount(relay, { name: "codex", credits: "10" })).key
  })

  after(async () => {
    await relay.stop()
    await Promise.all([openai.stop(), anthropic.stop()])
    for (const home of homes) rmSync(home, { recursive: true, force: true })
  })

  for (const model of ["gpt-4o-mini", "claude-sonnet-4-6", "claude-thinking-1"]) {
    it(`completes a task that needs a shell command on ${model}`, { timeout: 120_000 }, async () => {
      const home = mkdtempSync(join(tmpdir(), "codex-home-"))
      homes.push(home)
      const work = join(home, "work")
      mkdirSync(join(home, ".codex"), { recursive: true })
      mkdirSync(work)
      writeFileSync(join(work, "task.txt"), `${SECRET}\n`)
      writeFileSync(join(home, ".codex/config.toml"), codexConfig(model, relay.baseURL))

      const run = await runCodex(home, work, key)
      assert.equal(run.code, 0, `codex failed:\n${run.stderr.slice(-3000)}`)
      // The command ran, its output went back to the model, and the model's answer quotes it.
      assert.match(run.stdout, /tool said: [\s\S]*the secret word is pelican/)
      if (model.startsWith("gpt")) {
        const sent = openai.responses.map((request) => request.raw)
        assert.ok(sent.some((raw) => raw.includes('"function_call_output"') && raw.includes("pelican")))
      } else {
        const results = anthropic.messages.flatMap((request) =>
          (request.body.messages as Array<{ content: unknown }>).flatMap((message) => Array.isArray(message.content) ? message.content : [])
        ) as Array<{ type: string; content?: unknown }>
        assert.ok(results.some((block) => block.type === "tool_result" && JSON.stringify(block.content).includes("pelican")))
        if (model === "claude-thinking-1") {
          // Codex asked for reasoning: Claude thought, and its signed thinking came back to it
          // through Codex (as a reasoning item's encrypted_content) before the tool use.
          const last = anthropic.messages.at(-1)!.body
          assert.deepEqual(last.thinking, { type: "enabled", budget_tokens: 1_999 })
          const assistant = (last.messages as Array<{ role: string; content: Array<Record<string, unknown>> }>).find((m) => m.role === "assistant")!
          assert.deepEqual(assistant.content.map((block) => block.type), ["thinking", "text", "tool_use"])
          assert.equal(assistant.content[0]!.signature, "sig-mock")
        }
      }
      await eventually(async () => {
        const usage = await fetch(`${relay.url}/v1/account/usage?limit=100`, { headers: { authorization: `Bearer ${key}` } })
        const records = ((await usage.json()) as { data: Array<{ surface: string; model: string; status: number }> }).data
        const turns = records.filter((record) => record.model === model)
        assert.ok(turns.length >= 2, "one request for the tool call, one for the answer")
        assert.ok(turns.every((record) => record.surface === "responses" && record.status === 200), "every turn is answered on the responses surface")
      })
    })
  }
})
