import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { cpus, tmpdir, totalmem } from "node:os"
import { join, resolve } from "node:path"
import { BINARY, type Command, relayCommand, type RuntimeName, scriptCommand } from "../test/helpers/runtimes.ts"
import type { Job, Target } from "./load.ts"
import type { Summary } from "./stats.ts"
import { heapMemoryFile } from "./gc-on-signal.ts"
import { compareTargets, type Figures, targetTable } from "./targets.ts"
import { ensureWrk, type WrkResult, wrkSaturate } from "./wrk.ts"

/**
 * `npm run bench`: what the relay adds, measured against calling the mock upstream directly,
 * both in the same run. The mock, the relay and the load generator are separate processes;
 * direct and relayed requests alternate so that machine noise hits both alike.
 * `BENCH_QUICK=1` (or `--quick`) runs a few hundred requests only: the smoke run of the tests.
 */
const ROOT = resolve(import.meta.dirname, "..")
const QUICK = process.env.BENCH_QUICK === "1" || process.argv.includes("--quick")
const ADMIN_KEY = "bench-admin-key"
const SETTINGS = QUICK
  ? { sequential: 150, streams: 40, pacedStreams: 5, rates: [200], rateMs: 1_000, saturateMs: 1_000, connections: 32, held: 100, heldRounds: 2 }
  : { sequential: 3_000, streams: 500, pacedStreams: 40, rates: [500, 1_000, 2_000], rateMs: 5_000, saturateMs: 5_000, connections: 64, held: 1_000, heldRounds: 4 }

interface Child {
  readonly child: ChildProcess
  readonly match: RegExpExecArray
}

/** Starts `command` and waits for `ready` in its output. */
const start = (command: Command, env: Record<string, string>, ready: RegExp) =>
  new Promise<Child>((resolveChild, reject) => {
    const child = spawn(command.command, command.args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    const args = [command.command]
    let output = ""
    let started = false
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start within 30 s:\n${output}`)), 30_000)
    child.stdout!.setEncoding("utf8").on("data", (text: string) => {
      // Once started, the output (the relay logs a line per request) is read and dropped.
      if (started) return
      output += text
      const match = ready.exec(output)
      if (match) {
        started = true
        clearTimeout(timer)
        resolveChild({ child, match })
      }
    })
    child.stderr!.setEncoding("utf8").on("data", (text: string) => {
      if (!started) output += text
    })
    child.once("exit", (code) => {
      if (!started) reject(new Error(`${args[0]} exited with ${code}:\n${output}`))
    })
  })

const stop = async ({ child }: Child) => {
  if (child.exitCode !== null) return
  const exited = new Promise((resolveExit) => child.once("exit", resolveExit))
  child.kill("SIGTERM")
  await exited
}

/** Resident memory of a process in KiB (Linux). */
const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN)

/** The relay on Node, told to collect its garbage on SIGUSR2. */
const GC_ON_SIGNAL: Command = { command: process.execPath, args: ["--expose-gc", "--import", "./runtime/node-ts.mjs", "--import", "./bench/gc-on-signal.ts", "runtime/node.ts"] }

/**
 * Resident memory and live heap (the JS heap and its buffers) of a relay started with
 * GC_ON_SIGNAL, after a full collection, in KiB.
 */
const collectedMemory = async (pid: number) => {
  process.kill(pid, "SIGUSR2")
  await new Promise((resolve) => setTimeout(resolve, 300))
  const { heapUsed, arrayBuffers } = JSON.parse(readFileSync(heapMemoryFile(pid), "utf8")) as { heapUsed: number; arrayBuffers: number }
  return { rssKiB: rssKiB(pid), heapKiB: Math.round((heapUsed + arrayBuffers) / 1024) }
}

/** Runs one load job in its own process; `onLine` sees its progress lines. */
const load = <T>(job: Job, onLine?: (line: string) => Promise<void> | void) =>
  new Promise<T>((resolveResult, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/load.ts", JSON.stringify(job)], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] })
    let buffered = ""
    let last = ""
    const pending: Array<Promise<void> | void> = []
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      buffered += text
      let newline: number
      while ((newline = buffered.indexOf("\n")) !== -1) {
        last = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        if (onLine) pending.push(onLine(last))
      }
    })
    child.once("exit", async (code) => {
      await Promise.all(pending)
      if (code === 0) resolveResult(JSON.parse(last) as T)
      else reject(new Error(`load job ${job.kind} exited with ${code}`))
    })
  })

/** A runtime's version as it prints it. */
const version = (name: "bun" | "deno") =>
  spawnSync(join(ROOT, "node_modules/.bin", name), ["--version"], { encoding: "utf8" }).stdout.split("\n")[0]!.trim()

const admin = (port: number, method: string, path: string, body?: unknown) =>
  fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })

interface Relay extends Child {
  readonly target: Target
}

const startRelay = async (stack: string, mockPort: number, runtime: RuntimeName = "node", command = relayCommand(runtime)): Promise<Relay & { dataDir: string }> => {
  const dataDir = mkdtempSync(join(tmpdir(), "relay-bench-"))
  const relay = await start(command, {
    RELAY_CONFIG: join(ROOT, "bench/bench.config.ts"),
    RELAY_DATA_DIR: dataDir,
    RELAY_ADMIN_KEY: ADMIN_KEY,
    BENCH_STACK: stack,
    PORT: "0",
    // The production default: one log line per request is part of the relay's cost.
    LOG_LEVEL: "info",
    BENCH_UPSTREAM: `http://127.0.0.1:${mockPort}`
  }, /"port":(\d+)[^\n]*"msg":"listening"/)
  const port = Number(relay.match[1])
  let key = "unused"
  if (stack !== "bare") {
    const accounts = (await (await admin(port, "GET", "/admin/accounts")).json()) as { data: Array<{ id: string }> }
    const account = accounts.data[0]!.id
    await admin(port, "POST", `/admin/accounts/${account}/credits`, { amount: "1000000" })
    key = ((await (await admin(port, "POST", `/admin/accounts/${account}/keys`, {})).json()) as { key: string }).key
  }
  return { ...relay, dataDir, target: { name: runtime === "node" ? `relay-${stack}` : `relay-${runtime}`, port, key } }
}

const chat = (model: string, stream = false) =>
  JSON.stringify({ model, ...(stream ? { stream: true } : {}), messages: [{ role: "user", content: "Say something." }] })

type Sides = Record<string, { latency: Summary; errors: number }>
type StreamSides = Record<string, { firstByte: Summary; gap: Summary; total: Summary; readsPerStream: number; errors: number }>
interface Rate { latency: Summary; errors: number; sent: number; achievedRate: number }
interface Saturation { requestsPerSecond: number; latency: Summary; errors: number }

const main = async () => {
  const mock = await start(scriptCommand("node", "bench/mock-upstream.ts"), {}, /"port":(\d+)/)
  const direct: Target = { name: "direct", port: Number(mock.match[1]), key: "sk-bench" }
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    runtime: { node: process.version, bun: version("bun"), deno: version("deno") },
    settings: SETTINGS,
    quick: QUICK
  }
  const rows: Array<[string, string, string, string]> = []
  // Each stack's figures against the targets: the yardsticks, then the full stack per runtime.
  const figures: Record<string, Figures> = {}
  const share = (requestsPerSecond: number, ceiling: number) => (100 * requestsPerSecond) / ceiling
  const ofDirect = (requestsPerSecond: number, ceiling: number) => `${Math.round(share(requestsPerSecond, ceiling))}% of direct`
  const ms = (value: number) => value.toFixed(3)
  const added = (relayed: number, base: number) => `+${(relayed - base).toFixed(3)}`
  try {
    const ceiling = await load<Saturation>({ kind: "saturate", target: direct, body: chat("bench-model"), connections: SETTINGS.connections, durationMs: SETTINGS.saturateMs })
    results.mockCeiling = ceiling
    rows.push([`mock alone, ${SETTINGS.connections} connections (req/s)`, String(ceiling.requestsPerSecond), "", "its ceiling"])

    // Saturation again with wrk, which leaves the relay more of the 2 cores than our driver
    // does. The full run installs it when missing; the quick run uses it only if it is there.
    const wrk: Record<string, WrkResult> = {}
    const withWrk = ensureWrk(!QUICK)
    const wrkRow = async (label: string, target: Target) => {
      if (!withWrk) return
      const relayed = await wrkSaturate(`http://127.0.0.1:${target.port}/v1/chat/completions`, chat("bench-model"), target.key, SETTINGS.connections, SETTINGS.saturateMs / 1000)
      wrk[label] = relayed
      const base = wrk.direct!.requestsPerSecond
      rows.push([`${label}: throughput measured by wrk, ${SETTINGS.connections} connections (req/s)`, String(base), `${relayed.requestsPerSecond} (errors ${relayed.errors})`, ofDirect(relayed.requestsPerSecond, base)])
    }
    if (withWrk) {
      wrk.direct = await wrkSaturate(`http://127.0.0.1:${direct.port}/v1/chat/completions`, chat("bench-model"), direct.key, SETTINGS.connections, SETTINGS.saturateMs / 1000)
      rows.push([`mock alone, measured by wrk (req/s)`, String(wrk.direct.requestsPerSecond), "", "its ceiling"])
    }
    results.wrk = withWrk ? wrk : "not installed"

    // The yardstick: a forwarder that does nothing else, to show what the extra hop itself costs.
    const reference: Record<string, unknown> = {}
    for (const runtime of ["node", "bun"] as const) {
      const proxy = await start(scriptCommand(runtime, "bench/reference-proxy.ts"), { BENCH_UPSTREAM: `http://127.0.0.1:${direct.port}` }, /"port":(\d+)/)
      const target: Target = { name: "reference", port: Number(proxy.match[1]), key: "unused" }
      try {
        await load<Sides>({ kind: "sequential", targets: [direct, target], body: chat("bench-model"), count: Math.min(300, SETTINGS.sequential) })
        const sides = await load<Sides>({ kind: "sequential", targets: [direct, target], body: chat("bench-model"), count: SETTINGS.sequential })
        const saturated = await load<Saturation>({ kind: "saturate", target, body: chat("bench-model"), connections: SETTINGS.connections, durationMs: SETTINGS.saturateMs })
        reference[runtime] = { sequential: sides, saturation: saturated }
        const [d, r] = [sides.direct!.latency, sides.reference!.latency]
        figures[`yardstick on ${runtime}`] = { addedP50: r.p50 - d.p50, addedP99: r.p99 - d.p99, throughputPct: share(saturated.requestsPerSecond, ceiling.requestsPerSecond) }
        rows.push([`yardstick: bare node:http forwarder on ${runtime}, c=1 latency p50 / p99 (ms)`, `${ms(d.p50)} / ${ms(d.p99)}`, `${ms(r.p50)} / ${ms(r.p99)}`, `${added(r.p50, d.p50)} / ${added(r.p99, d.p99)}`])
        rows.push([`yardstick: bare node:http forwarder on ${runtime}, throughput (req/s)`, String(ceiling.requestsPerSecond), String(saturated.requestsPerSecond), ofDirect(saturated.requestsPerSecond, ceiling.requestsPerSecond)])
        await wrkRow(`yardstick on ${runtime}`, target)
      } finally {
        await stop(proxy)
      }
    }
    results.reference = reference

    // (f) Each plugin's cost: the same sequential run against three plugin stacks.
    const stacks: Record<string, Sides> = {}
    for (const stack of ["bare", "keys", "full"]) {
      const relay = await startRelay(stack, direct.port)
      try {
        await load<Sides>({ kind: "sequential", targets: [direct, relay.target], body: chat("bench-model"), count: Math.min(300, SETTINGS.sequential) })
        stacks[stack] = await load<Sides>({ kind: "sequential", targets: [direct, relay.target], body: chat("bench-model"), count: SETTINGS.sequential })
        const sides = stacks[stack]!
        for (const p of ["p50", "p99"] as const) {
          rows.push([`(a/f) ${stack} stack, c=1 latency ${p} (ms)`, ms(sides.direct!.latency[p]), ms(sides[relay.target.name]!.latency[p]), added(sides[relay.target.name]!.latency[p], sides.direct!.latency[p])])
        }
        if (stack !== "full") continue

        // (b) Fixed rates, open loop.
        const rates: Record<string, { direct: Rate; relay: Rate }> = {}
        for (const rate of SETTINGS.rates) {
          const base = await load<Rate>({ kind: "rate", target: direct, body: chat("bench-model"), rate, durationMs: SETTINGS.rateMs })
          const through = await load<Rate>({ kind: "rate", target: relay.target, body: chat("bench-model"), rate, durationMs: SETTINGS.rateMs })
          rates[String(rate)] = { direct: base, relay: through }
          rows.push([`(b) ${rate} req/s open loop, p50 / p99 (ms)`, `${ms(base.latency.p50)} / ${ms(base.latency.p99)}`, `${ms(through.latency.p50)} / ${ms(through.latency.p99)}`, `errors ${through.errors}/${through.sent}`])
        }
        results.fixedRates = rates

        // (c) Saturation.
        const saturated = await load<Saturation>({ kind: "saturate", target: relay.target, body: chat("bench-model"), connections: SETTINGS.connections, durationMs: SETTINGS.saturateMs })
        results.saturation = { direct: ceiling, relay: saturated }
        const full = sides[relay.target.name]!.latency
        figures.node = {
          addedP50: full.p50 - sides.direct!.latency.p50,
          addedP99: full.p99 - sides.direct!.latency.p99,
          throughputPct: share(saturated.requestsPerSecond, ceiling.requestsPerSecond)
        }
        rows.push([`(c) throughput, ${SETTINGS.connections} connections (req/s)`, String(ceiling.requestsPerSecond), String(saturated.requestsPerSecond), ofDirect(saturated.requestsPerSecond, ceiling.requestsPerSecond)])
        await wrkRow("(c) node", relay.target)

        // (d) Streams of 64 chunks: time to first byte, and gaps with chunks 2 ms apart upstream.
        const streams = await load<StreamSides>({ kind: "stream", targets: [direct, relay.target], body: chat("bench-model", true), count: SETTINGS.streams })
        const paced = await load<StreamSides>({ kind: "stream", targets: [direct, relay.target], body: chat("bench-paced", true), count: SETTINGS.pacedStreams })
        results.streaming = { burst: streams, paced }
        const [s, ps] = [streams, paced].map((sides) => ({ d: sides.direct!, r: sides[relay.target.name]! }))
        rows.push(["(d) stream first byte p50 (ms)", ms(s!.d.firstByte.p50), ms(s!.r.firstByte.p50), added(s!.r.firstByte.p50, s!.d.firstByte.p50)])
        figures.node = { ...figures.node, firstByteP50: s!.r.firstByte.p50 - s!.d.firstByte.p50 }
        rows.push(["(d) stream first byte p99 (ms)", ms(s!.d.firstByte.p99), ms(s!.r.firstByte.p99), added(s!.r.firstByte.p99, s!.d.firstByte.p99)])
        rows.push(["(d) paced stream: gap between chunks p50 / p99 (ms)", `${ms(ps!.d.gap.p50)} / ${ms(ps!.d.gap.p99)}`, `${ms(ps!.r.gap.p50)} / ${ms(ps!.r.gap.p99)}`, "upstream sends every 2 ms"])
        rows.push(["(d) paced stream: reads per stream (64 chunks sent)", String(Math.round(ps!.d.readsPerStream)), String(Math.round(ps!.r.readsPerStream)), "fewer = chunks held back"])

        // (e) Idle open streams: the relay's memory per stream, on a relay of its own that runs
        // a full garbage collection before each reading (bench/gc-on-signal.ts), so the figure
        // is memory kept, not garbage not yet collected. The first round from a fresh relay
        // includes what grows once (the heap, the malloc arenas, Node's pool of HTTP parsers);
        // the later rounds show the steady state. Resident memory swings with the pages the
        // heap keeps; the live heap is the steadier.
        const holder = await startRelay(stack, direct.port, "node", GC_ON_SIGNAL)
        try {
          await load<Sides>({ kind: "sequential", targets: [holder.target], body: chat("bench-model"), count: 200 })
          const perStream: Array<number> = []
          const heapPerStream: Array<number> = []
          const readings: Array<{ idleKiB: number; openKiB: number; idleHeapKiB: number; openHeapKiB: number }> = []
          for (let round = 0; round < SETTINGS.heldRounds; round++) {
            const idle = await collectedMemory(holder.child.pid!)
            let open: ReturnType<typeof collectedMemory> | undefined
            await load<{ open: number }>({ kind: "hold", target: holder.target, body: chat("slow-stream", true), count: SETTINGS.held, holdMs: 3_000 }, (line) => {
              if (line.includes('"open"')) open ??= collectedMemory(holder.child.pid!)
            })
            const during = await open!
            readings.push({ idleKiB: idle.rssKiB, openKiB: during.rssKiB, idleHeapKiB: idle.heapKiB, openHeapKiB: during.heapKiB })
            perStream.push(((during.rssKiB - idle.rssKiB) * 1024) / SETTINGS.held)
            heapPerStream.push(((during.heapKiB - idle.heapKiB) * 1024) / SETTINGS.held)
            await new Promise((resolve) => setTimeout(resolve, 1_000))
          }
          results.idleStreams = { streams: SETTINGS.held, rounds: readings, bytesPerStream: perStream.map(Math.round), heapBytesPerStream: heapPerStream.map(Math.round) }
          // The first round, and the mean of the later ones: resident memory swings by a few KiB
          // per stream from one round to the next, with the pages the heap keeps or returns.
          const firstAndSteady = (values: Array<number>) => {
            const later = values.slice(1)
            return [values[0]! / 1024, later.reduce((sum, bytes) => sum + bytes, 0) / later.length / 1024] as const
          }
          const kib = (values: Array<number>) => firstAndSteady(values).map((value) => `${value.toFixed(1)} KiB`).join(" / ")
          const [rssFirstKiB, rssSteadyKiB] = firstAndSteady(perStream)
          figures.node = { ...figures.node, rssFirstKiB, rssSteadyKiB }
          rows.push([`(e) ${SETTINGS.held} idle open streams: relay RSS per stream, first round / steady (mean of ${SETTINGS.heldRounds - 1})`, "", kib(perStream), `${readings[0]!.idleKiB} KiB idle`])
          rows.push([`(e) ${SETTINGS.held} idle open streams: live heap per stream, first round / steady (mean of ${SETTINGS.heldRounds - 1})`, "", kib(heapPerStream), `${readings[0]!.idleHeapKiB} KiB idle`])
        } finally {
          await stop(holder)
          rmSync(holder.dataDir, { recursive: true, force: true })
        }

        // (g) The same 64-word stream from an Anthropic upstream: passed through to an Anthropic
        // client, and translated for an OpenAI client.
        const anthropicDirect: Target = { ...direct, name: "direct", path: "/v1/messages" }
        const messages = JSON.stringify({ model: "claude-bench", max_tokens: 200, stream: true, messages: [{ role: "user", content: "Say something." }] })
        const passed: Target = { ...relay.target, name: "passthrough", path: "/v1/messages", body: messages }
        const translated: Target = { ...relay.target, name: "translated", body: chat("claude-bench", true) }
        const translation = await load<StreamSides>({ kind: "stream", targets: [anthropicDirect, passed, translated], body: chat("claude-bench", true), count: SETTINGS.streams })
        results.translation = translation
        const t = { d: translation.direct!, p: translation.passthrough!, x: translation.translated! }
        rows.push(["(g) Anthropic stream, first byte p50: passthrough / translated to OpenAI (ms)", ms(t.d.firstByte.p50), `${ms(t.p.firstByte.p50)} / ${ms(t.x.firstByte.p50)}`, `translation +${(t.x.firstByte.p50 - t.p.firstByte.p50).toFixed(3)}`])
        rows.push(["(g) Anthropic stream, whole 64 words p50: passthrough / translated (ms)", ms(t.d.total.p50), `${ms(t.p.total.p50)} / ${ms(t.x.total.p50)}`, `translation +${(t.x.total.p50 - t.p.total.p50).toFixed(3)}`])
      } finally {
        await stop(relay)
        rmSync(relay.dataDir, { recursive: true, force: true })
      }
    }
    results.stacks = stacks

    // The full stack on the other runtimes (and the executable when it was built).
    const runtimes: Record<string, unknown> = {}
    for (const runtime of ["bun", "deno", ...(existsSync(BINARY) ? ["binary" as const] : [])] as const) {
      const relay = await startRelay("full", direct.port, runtime)
      try {
        await load<Sides>({ kind: "sequential", targets: [direct, relay.target], body: chat("bench-model"), count: Math.min(300, SETTINGS.sequential) })
        const sides = await load<Sides>({ kind: "sequential", targets: [direct, relay.target], body: chat("bench-model"), count: SETTINGS.sequential })
        const saturated = await load<Saturation>({ kind: "saturate", target: relay.target, body: chat("bench-model"), connections: SETTINGS.connections, durationMs: SETTINGS.saturateMs })
        const streams = await load<StreamSides>({ kind: "stream", targets: [direct, relay.target], body: chat("bench-model", true), count: SETTINGS.streams })
        runtimes[runtime] = { sequential: sides, saturation: saturated, streaming: streams }
        const r = sides[relay.target.name]!.latency
        const d = sides.direct!.latency
        rows.push([`${runtime}: full stack, c=1 latency p50 / p99 (ms)`, `${ms(d.p50)} / ${ms(d.p99)}`, `${ms(r.p50)} / ${ms(r.p99)}`, `${added(r.p50, d.p50)} / ${added(r.p99, d.p99)}`])
        rows.push([`${runtime}: throughput, ${SETTINGS.connections} connections (req/s)`, String(ceiling.requestsPerSecond), String(saturated.requestsPerSecond), ofDirect(saturated.requestsPerSecond, ceiling.requestsPerSecond)])
        await wrkRow(runtime, relay.target)
        const s = { d: streams.direct!.firstByte, r: streams[relay.target.name]!.firstByte }
        rows.push([`${runtime}: stream first byte p50 (ms)`, ms(s.d.p50), ms(s.r.p50), added(s.r.p50, s.d.p50)])
        figures[runtime] = {
          addedP50: r.p50 - d.p50,
          addedP99: r.p99 - d.p99,
          throughputPct: share(saturated.requestsPerSecond, ceiling.requestsPerSecond),
          firstByteP50: s.r.p50 - s.d.p50
        }
      } finally {
        await stop(relay)
        rmSync(relay.dataDir, { recursive: true, force: true })
      }
    }
    results.runtimes = runtimes
    results.targets = compareTargets(figures)
  } finally {
    await stop(mock)
  }
  console.log(`| measure | direct | through relay | added |\n|---|---|---|---|\n${rows.map((r) => `| ${r.join(" | ")} |`).join("\n")}`)
  console.log(`\nThe targets (full stack; "yardstick" is the bare forwarder):\n\n${targetTable(figures)}`)
  const file = join(ROOT, QUICK ? "bench/results/quick.json" : "bench/results/latest.json")
  mkdirSync(join(ROOT, "bench/results"), { recursive: true })
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`)
  console.log(`\nwritten to ${file}`)
}

await main()
