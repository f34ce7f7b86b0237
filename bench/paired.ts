import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs"
import { Agent, request as httpRequest } from "node:http"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { pathToFileURL } from "node:url"
import { start, stop } from "./child.ts"
import { startClusterStores } from "./cluster.ts"
import { cpuMs } from "./cpu.ts"
import { scriptCommand } from "../test/helpers/runtimes.ts"
import { summarize } from "./stats.ts"
import { wrkSaturate } from "./wrk.ts"

/**
 * A paired A/B of two trees of the relay: `npm run bench:paired -- --base <commit>` exports the
 * commit with `git archive` (beside this tree's node_modules) and measures it against this tree,
 * on one mock upstream, with one bench config (this tree's bench/bench.config.ts, the full stack
 * unless `--stack bare|keys|cluster` says otherwise; for `cluster` the bench starts a throw-away
 * PostgreSQL and Redis on loopback, and each relay gets a fresh database of them).
 * Rounds alternate which side goes first (ABBA), each side a fresh relay per round: a warm-up,
 * then sequential requests at concurrency 1 (latency p50 and p99 as the client sees it, and the
 * relay's CPU time per request from /proc), then saturation with wrk (requests per second, and
 * CPU per request). A loaded machine moves every figure: pairs measured minutes apart cancel
 * most of that, and the table shows each round, so the spread is there to judge.
 *
 *   --runtime node|bun   (node)      --stack full      --rounds 4        --warmup 300
 *   --requests 1500      --seconds 4  --connections 32
 */
const ROOT = resolve(import.meta.dirname, "..")
const ADMIN_KEY = "bench-admin-key"

const { values } = parseArgs({
  options: {
    base: { type: "string" },
    runtime: { type: "string", default: "node" },
    stack: { type: "string", default: "full" },
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
const stack = values.stack
if (stack !== "bare" && stack !== "keys" && stack !== "full" && stack !== "cluster") throw new Error("--stack must be bare, keys, full or cluster")
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

/** A key of the relay's first account, with credit far above what the bench spends. */
const fundedKey = async (port: number): Promise<string> => {
  const accounts = (await admin(port, "GET", "/admin/accounts")).data as Array<{ id: string }>
  const account = accounts[0]!.id
  await admin(port, "POST", `/admin/accounts/${account}/credits`, { amount: "1000000" })
  return (await admin(port, "POST", `/admin/accounts/${account}/keys`, {})).key as string
}

const BODY = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "Say something." }] })

interface RoundFigures {
  readonly p50: number
  readonly p99: number
  readonly cpuUsPerRequest: number
  readonly rps: number
  readonly cpuUsPerRequestSaturated: number
  readonly errors: number
}

/** The cluster stack's PostgreSQL and Redis, while the bench runs. */
type Stores = Awaited<ReturnType<typeof startClusterStores>>

const measure = async (tree: string, upstream: number, stores: Stores | undefined): Promise<RoundFigures> => {
  const dataDir = mkdtempSync(join(tmpdir(), "relay-paired-"))
  const relay = await start(relayCommand(tree), {
    ...(stores === undefined ? {} : await stores.env()),
    RELAY_CONFIG: join(ROOT, "bench/bench.config.ts"),
    RELAY_DATA_DIR: dataDir,
    RELAY_ADMIN_KEY: ADMIN_KEY,
    BENCH_STACK: stack,
    BENCH_UPSTREAM: `http://127.0.0.1:${upstream}`,
    PORT: "0",
    LOG_LEVEL: "info"
  }, /"port":(\d+)[^\n]*"msg":"listening"/, tree)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  try {
    const pid = relay.child.pid!
    const port = Number(relay.match[1])
    const key = stack === "bare" ? "unused" : await fundedKey(port)
    let errors = 0
    for (let i = 0; i < settings.warmup; i++) if ((await post(agent, port, "/v1/chat/completions", BODY, key)) !== 200) errors++
    const latencies: Array<number> = []
    const cpuBefore = cpuMs(pid)
    for (let i = 0; i < settings.requests; i++) {
      const begun = performance.now()
      if ((await post(agent, port, "/v1/chat/completions", BODY, key)) !== 200) errors++
      latencies.push(performance.now() - begun)
    }
    const cpuSequential = cpuMs(pid) - cpuBefore
    const cpuBeforeWrk = cpuMs(pid)
    const saturated = await wrkSaturate(`http://127.0.0.1:${port}/v1/chat/completions`, BODY, key, settings.connections, settings.seconds)
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
    await stop(relay)
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
  const mock = await start(scriptCommand("node", "bench/mock-upstream.ts"), {}, /"port":(\d+)/)
  const stores = stack === "cluster" ? await startClusterStores() : undefined
  const sides = { base: baseTree, head: ROOT } as const
  const rounds: Array<Record<"base" | "head", RoundFigures>> = []
  try {
    for (let round = 0; round < settings.rounds; round++) {
      const order = round % 2 === 0 ? (["base", "head"] as const) : (["head", "base"] as const)
      const figures: Partial<Record<"base" | "head", RoundFigures>> = {}
      for (const side of order) figures[side] = await measure(sides[side], Number(mock.match[1]), stores)
      rounds.push(figures as Record<"base" | "head", RoundFigures>)
      console.error(`round ${round + 1}: ${JSON.stringify(figures)}`)
    }
  } finally {
    await stop(mock)
    await stores?.stop()
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
  console.log(`paired bench on ${runtime}, ${stack} stack: base ${values.base} against this tree, ${settings.rounds} rounds, ${settings.requests} sequential requests, ${settings.seconds} s saturation`)
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
