import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs"
import { Agent, request as httpRequest } from "node:http"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { pathToFileURL } from "node:url"
import { cpuMs } from "./cpu.ts"
import { summarize } from "./stats.ts"
import { wrkSaturate } from "./wrk.ts"

/**
 * A paired A/B of two trees of the relay: `npm run bench:paired -- --base <commit>` exports the
 * commit with `git archive` (beside this tree's node_modules) and measures it against this tree,
 * on one mock upstream, with one bench config (this tree's bench/bench.config.ts, full stack).
 * Rounds alternate which side goes first (ABBA), each side a fresh relay per round: a warm-up,
 * then sequential requests at concurrency 1 (latency p50 and p99 as the client sees it, and the
 * relay's CPU time per request from /proc), then saturation with wrk (requests per second, and
 * CPU per request). A loaded machine moves every figure: pairs measured minutes apart cancel
 * most of that, and the table shows each round, so the spread is there to judge.
 *
 *   --runtime node|bun   (node)      --rounds 4        --warmup 300
 *   --requests 1500      --seconds 4  --connections 32
 */
const ROOT = resolve(import.meta.dirname, "..")
const ADMIN_KEY = "bench-admin-key"

const { values } = parseArgs({
  options: {
    base: { type: "string" },
    runtime: { type: "string", default: "node" },
    rounds: { type: "string", default: "4" },
    warmup: { type: "string", default: "300" },
    requests: { type: "string", default: "1500" },
    seconds: { type: "string", default: "4" },
    connections: { type: "string", default: "32" }
  }
})
if (values.base === undefined) throw new Error("usage: bench/paired.ts --base <commit> [--runtime node|bun] [--rounds n] ...")
const runtime = values.runtime
if (runtime !== "node" && runtime !== "bun") throw new Error("--runtime must be node or bun")
const settings = {
  rounds: Number(values.rounds),
  warmup: Number(values.warmup),
  requests: Number(values.requests),
  seconds: Number(values.seconds),
  connections: Number(values.connections)
}

/** The base commit's tree, exported beside this one's dependencies (the lockfile may differ: the relay's own deps are what the bench exercises). */
const exportTree = (commit: string): string => {
  const dir = mkdtempSync(join(tmpdir(), "relay-paired-base-"))
  execFileSync("sh", ["-c", `git -C "${ROOT}" archive "${commit}" | tar -x -C "${dir}"`])
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"))
  return dir
}

interface Started {
  readonly child: ChildProcess
  readonly port: number
}

/** Starts a process and waits for the port it says it listens on. */
const start = (command: string, args: ReadonlyArray<string>, env: Record<string, string>, cwd: string, ready: RegExp) =>
  new Promise<Started>((resolveStart, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    let started = false
    const timer = setTimeout(() => reject(new Error(`${command} did not start within 60 s:\n${output}`)), 60_000)
    child.stdout!.setEncoding("utf8").on("data", (text: string) => {
      // Once started, the relay's request log is read and dropped, as a log shipper would.
      if (started) return
      output += text
      const match = ready.exec(output)
      if (match) {
        started = true
        clearTimeout(timer)
        resolveStart({ child, port: Number(match[1]) })
      }
    })
    child.stderr!.setEncoding("utf8").on("data", (text: string) => void (started ? undefined : (output += text)))
    child.once("exit", (code) => (started ? undefined : reject(new Error(`${command} exited with ${code}:\n${output}`))))
  })

const stop = async (child: ChildProcess) => {
  if (child.exitCode !== null) return
  const exited = new Promise((done) => child.once("exit", done))
  child.kill("SIGTERM")
  await exited
}

/** The relay of `tree` under the chosen runtime, as its own `start` scripts run it. */
const relayCommand = (tree: string): { command: string; args: Array<string> } =>
  runtime === "node"
    ? { command: process.execPath, args: ["--import", pathToFileURL(join(tree, "runtime/node-ts.mjs")).href, join(tree, "runtime/node.ts")] }
    : { command: join(ROOT, "node_modules/.bin/bun"), args: ["--no-env-file", join(tree, "runtime/bun.ts")] }

/** One POST over the agent's kept-alive connection; resolves with the status once the body is read. */
const post = (agent: Agent, port: number, path: string, body: string, key: string) =>
  new Promise<number>((done, fail) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, method: "POST", agent, headers: { "content-type": "application/json", authorization: `Bearer ${key}` } }, (res) => {
      res.resume()
      res.once("end", () => done(res.statusCode ?? 0))
    })
    req.once("error", fail)
    req.end(body)
  })

const admin = async (port: number, method: string, path: string, body?: unknown) =>
  (await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })).json() as Promise<Record<string, unknown>>

const BODY = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "Say something." }] })

interface RoundFigures {
  readonly p50: number
  readonly p99: number
  readonly cpuUsPerRequest: number
  readonly rps: number
  readonly cpuUsPerRequestSaturated: number
  readonly errors: number
}

const measure = async (tree: string, upstream: number): Promise<RoundFigures> => {
  const dataDir = mkdtempSync(join(tmpdir(), "relay-paired-"))
  const { command, args } = relayCommand(tree)
  const relay = await start(command, args, {
    RELAY_CONFIG: join(ROOT, "bench/bench.config.ts"),
    RELAY_DATA_DIR: dataDir,
    RELAY_ADMIN_KEY: ADMIN_KEY,
    BENCH_STACK: "full",
    BENCH_UPSTREAM: `http://127.0.0.1:${upstream}`,
    PORT: "0",
    LOG_LEVEL: "info"
  }, tree, /"port":(\d+)[^\n]*"msg":"listening"/)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  try {
    const pid = relay.child.pid!
    const accounts = (await admin(relay.port, "GET", "/admin/accounts")).data as Array<{ id: string }>
    const account = accounts[0]!.id
    await admin(relay.port, "POST", `/admin/accounts/${account}/credits`, { amount: "1000000" })
    const key = (await admin(relay.port, "POST", `/admin/accounts/${account}/keys`, {})).key as string
    let errors = 0
    for (let i = 0; i < settings.warmup; i++) if ((await post(agent, relay.port, "/v1/chat/completions", BODY, key)) !== 200) errors++
    const latencies: Array<number> = []
    const cpuBefore = cpuMs(pid)
    for (let i = 0; i < settings.requests; i++) {
      const begun = performance.now()
      if ((await post(agent, relay.port, "/v1/chat/completions", BODY, key)) !== 200) errors++
      latencies.push(performance.now() - begun)
    }
    const cpuSequential = cpuMs(pid) - cpuBefore
    const cpuBeforeWrk = cpuMs(pid)
    const saturated = await wrkSaturate(`http://127.0.0.1:${relay.port}/v1/chat/completions`, BODY, key, settings.connections, settings.seconds)
    const cpuSaturated = cpuMs(pid) - cpuBeforeWrk
    const summary = summarize(latencies)
    return {
      p50: summary.p50,
      p99: summary.p99,
      cpuUsPerRequest: (cpuSequential * 1000) / settings.requests,
      rps: saturated.requestsPerSecond,
      cpuUsPerRequestSaturated: (cpuSaturated * 1000) / Math.max(1, saturated.requests),
      errors: errors + saturated.errors
    }
  } finally {
    agent.destroy()
    await stop(relay.child)
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
const spread = (xs: ReadonlyArray<number>) => {
  const m = mean(xs)
  return Math.sqrt(xs.reduce((sum, x) => sum + (x - m) ** 2, 0) / Math.max(1, xs.length - 1))
}

const main = async () => {
  const baseTree = exportTree(values.base!)
  const mock = await start(process.execPath, ["--import", "tsx", join(ROOT, "bench/mock-upstream.ts")], {}, ROOT, /"port":(\d+)/)
  const sides = { base: baseTree, head: ROOT } as const
  const rounds: Array<Record<"base" | "head", RoundFigures>> = []
  try {
    for (let round = 0; round < settings.rounds; round++) {
      const order = round % 2 === 0 ? (["base", "head"] as const) : (["head", "base"] as const)
      const figures: Partial<Record<"base" | "head", RoundFigures>> = {}
      for (const side of order) figures[side] = await measure(sides[side], mock.port)
      rounds.push(figures as Record<"base" | "head", RoundFigures>)
      console.error(`round ${round + 1}: ${JSON.stringify(figures)}`)
    }
  } finally {
    await stop(mock.child)
    if (existsSync(baseTree)) rmSync(baseTree, { recursive: true, force: true })
  }
  const metrics: ReadonlyArray<[keyof RoundFigures, string]> = [
    ["p50", "c=1 latency p50 (ms)"],
    ["p99", "c=1 latency p99 (ms)"],
    ["cpuUsPerRequest", "c=1 relay CPU per request (µs)"],
    ["rps", `saturation, ${settings.connections} connections (req/s)`],
    ["cpuUsPerRequestSaturated", "saturated relay CPU per request (µs)"]
  ]
  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(3))
  console.log(`paired bench on ${runtime}: base ${values.base} against this tree, ${settings.rounds} rounds, ${settings.requests} sequential requests, ${settings.seconds} s saturation`)
  console.log("| measure | base, per round | head, per round | base mean ± sd | head mean ± sd | head / base |")
  console.log("|---|---|---|---|---|---|")
  for (const [metric, label] of metrics) {
    const base = rounds.map((r) => r.base[metric])
    const head = rounds.map((r) => r.head[metric])
    console.log(`| ${label} | ${base.map(fmt).join(", ")} | ${head.map(fmt).join(", ")} | ${fmt(mean(base))} ± ${fmt(spread(base))} | ${fmt(mean(head))} ± ${fmt(spread(head))} | ${(mean(head) / mean(base)).toFixed(3)} |`)
  }
  const errors = rounds.reduce((sum, r) => sum + r.base.errors + r.head.errors, 0)
  if (errors > 0) console.log(`\n${errors} answers were not 200: the figures above include them`)
}

await main()
