import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { createServer, type IncomingHttpHeaders, request } from "node:http"
import type { AddressInfo } from "node:net"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { clientBin } from "../helpers/clients.ts"
import { MockAnthropic } from "../helpers/mock-anthropic.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { type RelayProcess, startRelay } from "../helpers/relay.ts"

const ANTHROPIC_KEY = "sk-ant-mock-shared-1"
const OPENAI_KEY = "sk-mock-shared-1"

interface ClaudeResult {
  readonly result: string
  readonly is_error: boolean
  readonly num_turns: number
}

/**
 * Runs Claude Code once, headless (`claude -p`), as a new user would: a throw-away HOME, the
 * relay (or a mock) as its Anthropic base URL, nothing sent anywhere else. Read is the one
 * tool it may use without asking (`--dangerously-skip-permissions` is refused to root). The
 * key goes as `ANTHROPIC_API_KEY` (sent as `x-api-key`) or, with `bearer`, as
 * `ANTHROPIC_AUTH_TOKEN` (sent as `Authorization: Bearer`).
 */
const runClaude = async (options: { baseUrl: string; apiKey: string; model: string; prompt: string; cwd: string; bearer?: boolean }): Promise<ClaudeResult> => {
  const home = mkdtempSync(join(tmpdir(), "claude-home-"))
  try {
    const child = spawn(clientBin("claude"), ["-p", options.prompt, "--output-format", "json", "--model", options.model, "--allowedTools", "Read"], {
      cwd: options.cwd,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        ANTHROPIC_BASE_URL: options.baseUrl,
        ...(options.bearer ? { ANTHROPIC_AUTH_TOKEN: options.apiKey } : { ANTHROPIC_API_KEY: options.apiKey }),
        // Its side requests (titles, summaries) go to the model under test, not to a Haiku the catalog may lack.
        ANTHROPIC_SMALL_FAST_MODEL: options.model,
        ANTHROPIC_DEFAULT_HAIKU_MODEL: options.model,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        DISABLE_AUTOUPDATER: "1",
        DISABLE_TELEMETRY: "1",
        DISABLE_ERROR_REPORTING: "1",
        DISABLE_BUG_COMMAND: "1"
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text))
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text))
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000)
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
    clearTimeout(timer)
    assert.equal(code, 0, `claude exited with ${code}:\n${stdout}\n${stderr}`)
    return JSON.parse(stdout) as ClaudeResult
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}

/** The `anthropic-beta` values of a request. */
/** A pass-through proxy to `target` that records each request's headers and body as sent. */
const recordingProxy = (target: string) => {
  const requests: Array<{ readonly headers: IncomingHttpHeaders; readonly body: string }> = []
  const upstream = new URL(target)
  const server = createServer((req, res) => {
    const parts: Array<Buffer> = []
    req.on("data", (part: Buffer) => parts.push(part))
    req.on("end", () => {
      const body = Buffer.concat(parts)
      requests.push({ headers: req.headers, body: body.toString() })
      const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      })
      forward.on("error", () => res.destroy())
      forward.end(body)
    })
  })
  return {
    requests,
    start: () => new Promise<string>((listening) => server.listen(0, "127.0.0.1", () => listening(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    stop: () => new Promise<void>((closed) => {
      server.close(() => closed())
      server.closeAllConnections()
    })
  }
}

const betasOf = (headers: Record<string, unknown>): Array<string> => String(headers["anthropic-beta"] ?? "").split(",").filter((beta) => beta !== "")

describe("Claude Code (the real CLI) through the relay", () => {
  const anthropic = new MockAnthropic({ [ANTHROPIC_KEY]: "ok" })
  const openai = new MockOpenAI({ [OPENAI_KEY]: "ok" })
  let relay: RelayProcess
  let key: string
  let workdir: string
  let notePath: string

  before(async () => {
    const [anthropicUrl, openaiUrl] = await Promise.all([anthropic.start(), openai.start()])
    relay = await startRelay({
      env: {
        ANTHROPIC_API_KEY: ANTHROPIC_KEY,
        ANTHROPIC_BASE_URL: anthropicUrl,
        OPENAI_API_KEY: OPENAI_KEY,
        OPENAI_BASE_URL: openaiUrl,
        // Claude Code's first request, with its system prompt and tools, runs over 100 KB.
        TEST_MAX_BODY_BYTES: String(4 * 1024 * 1024)
      }
    })
    key = relay.firstRunKey!
    workdir = mkdtempSync(join(tmpdir(), "claude-work-"))
    notePath = join(workdir, "note.txt")
    writeFileSync(notePath, "the launch code is tangerine-42\n")
  })

  after(async () => {
    await relay.stop()
    await Promise.all([anthropic.stop(), openai.stop()])
    rmSync(workdir, { recursive: true, force: true })
  })

  const readPrompt = () => `What does note.txt say? <call tool="Read">${JSON.stringify({ file_path: notePath })}</call>`

  it("answers on a Claude model, the request passed through as Claude Code sent it", async () => {
    const before = anthropic.messages.length
    const result = await runClaude({ baseUrl: relay.url, apiKey: key, model: "claude-sonnet-4-6", prompt: "Say marker-plain-claude back.", cwd: workdir })
    assert.equal(result.is_error, false)
    assert.match(result.result, /marker-plain-claude/)
    const seen = anthropic.messages.slice(before).find((r) => JSON.stringify(r.body.messages).includes("marker-plain-claude"))!
    assert.equal(seen.headers["x-api-key"], ANTHROPIC_KEY, "the pool's key, not the relay key")
    // Claude Code's request shape reaches Claude as it was sent (the mock refuses what the real API refuses).
    assert.deepEqual(seen.body.output_config, { effort: "high" })
    assert.equal((seen.body.thinking as { type: string }).type, "adaptive")
    assert.ok(seen.body.context_management !== undefined)
    assert.equal(seen.body.max_tokens, 2_000, "32,000 lowered to the catalogued cap")
  })

  it("completes a task that needs a tool call on a Claude model: reads the file and answers from it", async () => {
    const before = anthropic.messages.length
    const result = await runClaude({ baseUrl: relay.url, apiKey: key, model: "claude-sonnet-4-6", prompt: readPrompt(), cwd: workdir })
    assert.equal(result.is_error, false)
    assert.match(result.result, /tangerine-42/)
    const turns = anthropic.messages.slice(before).filter((r) => JSON.stringify(r.body.messages).includes("note.txt"))
    const last = turns.at(-1)!.body.messages as Array<{ role: string; content: unknown }>
    assert.match(JSON.stringify(last.at(-1)!.content), /"type":"tool_result".*tangerine-42/s, "the file's text went back as a tool result")
  })

  it("answers on a GPT model: Claude Code's request translated, effort as reasoning_effort (key as a bearer token)", async () => {
    const before = openai.chats.length
    const result = await runClaude({ baseUrl: relay.url, apiKey: key, model: "gpt-5.5", prompt: "Say marker-plain-gpt back.", cwd: workdir, bearer: true })
    assert.equal(result.is_error, false, result.result)
    assert.match(result.result, /marker-plain-gpt/)
    const seen = openai.chats.slice(before).find((r) => r.raw.includes("marker-plain-gpt"))!
    assert.equal(seen.body.model, "gpt-5.5")
    assert.equal(seen.body.reasoning_effort, "high", "Claude Code's output_config.effort")
    assert.equal(seen.body.max_completion_tokens, 16_000)
    assert.ok((seen.body.tools as Array<unknown>).length > 5, "Claude Code's own tools are offered")
    // On a model it does not know, Claude Code sends its environment as a system message after the prompt.
    const roles = (seen.body.messages as Array<{ role: string }>).map((m) => m.role)
    assert.equal(roles[0], "system")
    assert.ok(roles.indexOf("system", 1) > roles.indexOf("user"), `a system message in its place: ${roles.join(",")}`)
  })

  for (const model of ["gpt-5.5", "mock-reasoner"]) {
    it(`completes a task that needs a tool call on ${model === "gpt-5.5" ? "a GPT model" : "a reasoning_content server"}`, async () => {
      const before = openai.chats.length
      const result = await runClaude({ baseUrl: relay.url, apiKey: key, model, prompt: readPrompt(), cwd: workdir })
      assert.equal(result.is_error, false, result.result)
      assert.match(result.result, /tangerine-42/)
      const turns = openai.chats.slice(before).filter((r) => r.raw.includes("note.txt"))
      const messages = turns.at(-1)!.body.messages as Array<{ role: string; content: unknown; tool_calls?: Array<{ function: { name: string } }> }>
      assert.equal(messages.at(-2)!.tool_calls?.[0]?.function.name, "Read")
      assert.equal(messages.at(-1)!.role, "tool")
      assert.match(JSON.stringify(messages.at(-1)!.content), /tangerine-42/)
    })
  }

  it("forwards every anthropic-beta value Claude Code sends to Claude unchanged", async () => {
    // Claude Code's betas vary from run to run (some hang on what it learns while it starts),
    // so what it sends is read in the same run, on its way to the relay.
    const seen = recordingProxy(relay.url)
    const proxyUrl = await seen.start()
    const before = anthropic.messages.length
    try {
      await runClaude({ baseUrl: proxyUrl, apiKey: key, model: "claude-sonnet-4-6", prompt: "Say marker-beta back.", cwd: workdir })
    } finally {
      await seen.stop()
    }
    const sent = seen.requests.find((r) => r.body.includes("marker-beta"))!
    const forwarded = anthropic.messages.slice(before).find((r) => JSON.stringify(r.body.messages).includes("marker-beta"))!
    const betas = betasOf(sent.headers)
    for (const beta of ["claude-code-20250219", "interleaved-thinking-2025-05-14", "context-management-2025-06-27", "effort-2025-11-24"]) {
      assert.ok(betas.includes(beta), `Claude Code sends ${beta}`)
    }
    assert.equal(forwarded.headers["anthropic-beta"], sent.headers["anthropic-beta"])
    assert.equal(forwarded.headers["anthropic-version"], sent.headers["anthropic-version"])
  })
})
