import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { BINARY, type Command, relayCommand, RUNTIMES, type RuntimeName, scriptCommand, type SourceRuntime } from "../test/helpers/runtimes.ts"
import { type Child, start, stop } from "./child.ts"
import type { Job, Target } from "./load.ts"
import type { Summary } from "./stats.ts"
import { heapMemoryFile } from "./gc-on-signal.mjs"
import { describeMachine, machineInfo } from "./machine.ts"
import { MeasureTable } from "./table.ts"
import { compareTargets, compareYardstickTargets, type Figures, ownCost, ownCostTable, targetTable, yardstickTargetTable } from "./targets.ts"
import { ensureWrk, type WrkResult, wrkSaturate } from "./wrk.ts"
import { cpuDuring } from "./cpu.ts"
import { startClusterStores } from "./cluster.ts"
import { LONG_CHUNKS } from "./long-stream.ts"
import { ensureNginx, startNginx } from "./nginx.ts"
import { PEER_CONNECTIONS, type PeerFigures, peerTable } from "./peers.ts"

/**
 * `npm run bench`: what the relay adds, measured against calling the mock upstream directly,
 * both in the same run. The mock, the relay and the load generator are separate processes;
 * direct and relayed requests alternate so that machine noise hits both alike.
 * `BENCH_QUICK=1` (or `--quick`) runs a few hundred requests only: the smoke run of the tests.
 * `--peers` adds nginx (installed from Debian when missing) in front of the same mock, and a
 * table of it beside each runtime's yardstick and relay. `--runtime=node` (repeatable) measures
 * only the runtimes named. The cluster stack's PostgreSQL and Redis are started by the run.
 */
const ROOT = resolve(import.meta.dirname, "..")
const QUICK = process.env.BENCH_QUICK === "1" || process.argv.includes("--quick")
const PEERS = process.argv.includes("--peers")
/** `--runtime=node` (repeatable): only these runtimes, for a shorter run; every one by default. */
const ONLY = process.argv.filter((arg) => arg.startsWith("--runtime=")).map((arg) => arg.slice("--runtime=".length))
const chosen = (runtime: RuntimeName) => ONLY.length === 0 || ONLY.includes(runtime)
const ADMIN_KEY = "bench-admin-key"
const SETTINGS = QUICK
  ? { sequential: 150, streams: 40, pacedStreams: 5, rates: [200], rateMs: 1_000, saturateMs: 1_000, connections: 32, held: 100, heldRounds: 2, longStreams: 2, shortStreams: 20 }
  : { sequential: 3_000, streams: 500, pacedStreams: 40, rates: [500, 1_000, 2_000], rateMs: 5_000, saturateMs: 5_000, connections: 64, held: 1_000, heldRounds: 4, longStreams: 5, shortStreams: 500 }
/**
 * Time a started process is given to settle (lazy initialisation, a first collection) before
 * its idle memory is read; the quick run only checks that the reading works.
 */
const SETTLE_MS = QUICK ? 200 : 1_000

/** Resident memory of a process in KiB (Linux). */
const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN)

/** Resident memory of a process just started, once it has settled (KiB). */
const settledRss = async (pid: number) => {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
  return rssKiB(pid)
}

const GC_MODULE = join(ROOT, "bench/gc-on-signal.mjs")

/**
 * `command` (a script under `runtime`, or the executable) made to collect its garbage on SIGUSR2:
 * bench/gc-on-signal.mjs is loaded first with each runtime's own flags; the executable takes
 * Bun's flags from BUN_OPTIONS.
 */
const collecting = (runtime: RuntimeName, command: Command): { readonly command: Command; readonly env: Record<string, string> } => {
  if (runtime === "binary") return { command, env: { BUN_OPTIONS: `--preload ${GC_MODULE}` } }
  const flags = {
    node: ["--expose-gc", "--import", pathToFileURL(GC_MODULE).href],
    bun: ["--preload", GC_MODULE],
    deno: ["--v8-flags=--expose-gc", `--preload=${GC_MODULE}`]
  }[runtime]
  // The script is the command's last argument; the runtime's flags go before it.
  return { command: { command: command.command, args: [...command.args.slice(0, -1), ...flags, command.args.at(-1)!] }, env: {} }
}

/**
 * Resident memory and live heap (the JS heap and its buffers) of a process started with
 * `collecting`, after a full collection, in KiB.
 */
const collectedMemory = async (pid: number) => {
  const file = heapMemoryFile(pid)
  rmSync(file, { force: true })
  process.kill(pid, "SIGUSR2")
  // Read once the process has written it: on a loaded machine a fixed wait could read the
  // previous reading, and take the memory of open streams for that of none.
  for (let waited = 0; !existsSync(file); waited += 20) {
    if (waited > 10_000) throw new Error(`process ${pid} wrote no heap reading within 10 s`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const { heapUsed, arrayBuffers } = JSON.parse(readFileSync(file, "utf8")) as { heapUsed: number; arrayBuffers: number }
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
  readonly dataDir: string
  /** Resident memory once started, before any request (KiB), when asked for. */
  readonly idleRssKiB?: number
}

/**
 * The relay with plugin stack `stack` on a data directory of its own, and a funded key; with
 * `readIdleRss`, its memory is read once it has settled, before the first request.
 */
const startRelay = async (
  stack: string,
  mockPort: number,
  runtime: RuntimeName,
  { command, env }: { command: Command; env: Record<string, string> } = { command: relayCommand(runtime), env: {} },
  readIdleRss = false
): Promise<Relay> => {
  const dataDir = mkdtempSync(join(tmpdir(), "relay-bench-"))
  const relay = await start(command, {
    ...env,
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
  const idleRssKiB = readIdleRss ? await settledRss(relay.child.pid!) : undefined
  let key = "unused"
  if (stack !== "bare") {
    const accounts = (await (await admin(port, "GET", "/admin/accounts")).json()) as { data: Array<{ id: string }> }
    const account = accounts.data[0]!.id
    await admin(port, "POST", `/admin/accounts/${account}/credits`, { amount: "1000000" })
    key = ((await (await admin(port, "POST", `/admin/accounts/${account}/keys`, {})).json()) as { key: string }).key
  }
  return { ...relay, dataDir, target: { name: "relay", port, key }, ...(idleRssKiB === undefined ? {} : { idleRssKiB }) }
}

const stopRelay = async (relay: Relay) => {
  await stop(relay)
  rmSync(relay.dataDir, { recursive: true, force: true })
}

const chat = (model: string, stream = false) =>
  JSON.stringify({ model, ...(stream ? { stream: true } : {}), messages: [{ role: "user", content: "Say something." }] })

type Sides = Record<string, { latency: Summary; errors: number }>
type StreamSides = Record<string, { firstByte: Summary; gap: Summary; total: Summary; readsPerStream: number; errors: number }>
interface Rate { latency: Summary; errors: number; sent: number; achievedRate: number }
interface Saturation { requestsPerSecond: number; requests: number; latency: Summary; errors: number }
interface Together { total: Summary; readsPerStream: number; errors: number }

const share = (requestsPerSecond: number, ceiling: number) => (100 * requestsPerSecond) / ceiling
const ms = (value: number) => value.toFixed(3)
const plus = (value: number) => `${value < 0 ? "" : "+"}${value.toFixed(3)}`

/** The runtimes a yardstick runs on; the executable's figures compare with Bun's (so Bun's runs for it). */
const SOURCE_RUNTIMES = RUNTIMES.filter((runtime): runtime is SourceRuntime =>
  runtime !== "binary" && (chosen(runtime) || (runtime === "bun" && chosen("binary"))))

/** Each relay column's yardstick column: its runtime's, Bun's for the executable. */
const yardstickOf = (runtimes: ReadonlyArray<RuntimeName>) =>
  Object.fromEntries(runtimes.map((runtime) => [runtime, `yardstick on ${runtime === "binary" ? "bun" : runtime}`]))

/** The plugin stacks of bench.config.ts, from the providers alone to the shipped admission. */
const STACKS = ["bare", "keys", "full"] as const

const main = async () => {
  const mock = await start(scriptCommand("node", "bench/mock-upstream.ts"), {}, /"port":(\d+)/)
  // PostgreSQL and Redis on loopback for the cluster stack.
  const clusterStores = await startClusterStores()
  const direct: Target = { name: "direct", port: Number(mock.match[1]), key: "sk-bench" }
  // Every runtime the relay runs on, and the executable when it was built.
  const runtimes = RUNTIMES.filter((runtime) => (runtime !== "binary" || existsSync(BINARY)) && chosen(runtime))
  const machine = machineInfo()
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine,
    runtime: { node: process.version, bun: version("bun"), deno: version("deno") },
    settings: SETTINGS,
    quick: QUICK
  }
  const table = new MeasureTable(runtimes)
  // Each stack's figures against the targets: the yardsticks, then the full stack per runtime.
  const figures: Record<string, Figures> = {}
  // --peers: a row per proxy for the table beside nginx.
  const peers: Record<string, PeerFigures> = {}
  try {
    const ceiling = await load<Saturation>({ kind: "saturate", target: direct, body: chat("bench-model"), connections: SETTINGS.connections, durationMs: SETTINGS.saturateMs })
    results.mockCeiling = ceiling
    table.direct(`mock alone, ${SETTINGS.connections} connections (req/s)`, ceiling.requestsPerSecond)
    const throughput = (requestsPerSecond: number, base: number) => `${requestsPerSecond} (${Math.round(share(requestsPerSecond, base))}% of direct)`

    // Saturation again with wrk, which leaves the relay more of the 2 cores than our driver
    // does. The full run installs it when missing; the quick run uses it only if it is there.
    const wrk: Record<string, WrkResult> = {}
    const withWrk = ensureWrk(!QUICK || PEERS)
    const wrkCell = async (measure: string, label: string, column: string, target: Target) => {
      if (!withWrk) return
      const relayed = await wrkSaturate(`http://127.0.0.1:${target.port}/v1/chat/completions`, chat("bench-model"), target.key, SETTINGS.connections, SETTINGS.saturateMs / 1000)
      wrk[label] = relayed
      const errors = relayed.errors === 0 ? "" : `, ${relayed.errors} errors`
      table.cell(measure, column, `${throughput(relayed.requestsPerSecond, wrk.direct!.requestsPerSecond)}${errors}`, wrk.direct!.requestsPerSecond)
    }
    if (withWrk) {
      wrk.direct = await wrkSaturate(`http://127.0.0.1:${direct.port}/v1/chat/completions`, chat("bench-model"), direct.key, SETTINGS.connections, SETTINGS.saturateMs / 1000)
      table.direct("mock alone, measured by wrk (req/s)", wrk.direct.requestsPerSecond)
    }
    results.wrk = withWrk ? wrk : "not installed"

    /** Concurrency 1, direct and `target` alternating, after a warm-up. */
    const sequential = async (target: Target) => {
      await load<Sides>({ kind: "sequential", targets: [direct, target], body: chat("bench-model"), count: Math.min(300, SETTINGS.sequential) })
      return load<Sides>({ kind: "sequential", targets: [direct, target], body: chat("bench-model"), count: SETTINGS.sequential })
    }
    const saturate = (target: Target) =>
      load<Saturation>({ kind: "saturate", target, body: chat("bench-model"), connections: SETTINGS.connections, durationMs: SETTINGS.saturateMs })
    /** Rows of added latency at c=1, p50 and p99; returns the two figures. */
    const addedLatency = (label: string, column: string, sides: Sides, name: string) => {
      const [d, r] = [sides.direct!.latency, sides[name]!.latency]
      for (const p of ["p50", "p99"] as const) table.cell(`${label}, c=1, added latency ${p} (ms)`, column, plus(r[p] - d[p]), d[p])
      return { addedP50: r.p50 - d.p50, addedP99: r.p99 - d.p99 }
    }

    // (e) Idle open streams: memory per stream, held through a process of its own (started with
    // `collecting`) that runs a full garbage collection before each reading, so the figure is
    // memory kept, not garbage not yet collected. The first round from a fresh process includes
    // what grows once (the heap, the malloc arenas, the servers' pools); the later rounds show
    // the steady state. Resident memory swings with the pages the heap keeps; the live heap is
    // the steadier.
    const holdIdleStreams = async (pid: number, target: Target, label: string, column: string) => {
      await load<Sides>({ kind: "sequential", targets: [target], body: chat("bench-model"), count: 200 })
      const perStream: Array<number> = []
      const heapPerStream: Array<number> = []
      const rounds: Array<{ open: number; idleKiB: number; openKiB: number; idleHeapKiB: number; openHeapKiB: number }> = []
      for (let round = 0; round < SETTINGS.heldRounds; round++) {
        const idle = await collectedMemory(pid)
        // Read once every stream is open (the load generator says so); held is what it counted.
        let open: ReturnType<typeof collectedMemory> | undefined
        let held = 0
        await load<{ open: number }>({ kind: "hold", target, body: chat("slow-stream", true), count: SETTINGS.held, holdMs: 3_000 }, (line) => {
          if (!line.includes('"open"') || open !== undefined) return
          held = (JSON.parse(line) as { open: number }).open
          open = collectedMemory(pid)
        })
        if (open === undefined) throw new Error(`${label} on ${column}: not all ${SETTINGS.held} streams opened`)
        const during = await open
        rounds.push({ open: held, idleKiB: idle.rssKiB, openKiB: during.rssKiB, idleHeapKiB: idle.heapKiB, openHeapKiB: during.heapKiB })
        perStream.push(((during.rssKiB - idle.rssKiB) * 1024) / SETTINGS.held)
        heapPerStream.push(((during.heapKiB - idle.heapKiB) * 1024) / SETTINGS.held)
        await new Promise((resolve) => setTimeout(resolve, 1_000))
      }
      // The first round, and the mean of the later ones.
      const firstAndSteady = (values: Array<number>) => {
        const later = values.slice(1)
        return [values[0]! / 1024, later.reduce((sum, bytes) => sum + bytes, 0) / later.length / 1024] as const
      }
      const kib = (values: Array<number>) => firstAndSteady(values).map((value) => value.toFixed(1)).join(" / ")
      const [rssFirstKiB, rssSteadyKiB] = firstAndSteady(perStream)
      const steady = `first round / steady (mean of ${SETTINGS.heldRounds - 1})`
      table.cell(`${label} ${SETTINGS.held} idle open streams: RSS per stream, ${steady} (KiB)`, column, kib(perStream))
      table.cell(`${label} ${SETTINGS.held} idle open streams: live heap per stream, ${steady} (KiB)`, column, kib(heapPerStream))
      table.cell(`${label} idle, before the first round: RSS / live heap (KiB)`, column, `${rounds[0]!.idleKiB} / ${rounds[0]!.idleHeapKiB}`)
      return {
        readings: { streams: SETTINGS.held, rounds, bytesPerStream: perStream.map(Math.round), heapBytesPerStream: heapPerStream.map(Math.round) },
        figures: { rssFirstKiB, rssSteadyKiB }
      }
    }

    // (h) Long streams: the CPU time a chunk costs, read from /proc before and after
    // `SETTINGS.longStreams` streams of `LONG_CHUNKS` chunks run at once through `target`.
    const longStreams = async (pid: number, target: Target, model: string) => {
      const { result, cpuMs } = await cpuDuring(pid, () => load<Together>({ kind: "together", target, body: chat(model, true), count: SETTINGS.longStreams }))
      return { ...result, cpuMs, cpuPerChunkUs: (cpuMs * 1000) / (SETTINGS.longStreams * LONG_CHUNKS) }
    }
    const longRow = `(h) long streams (${LONG_CHUNKS} chunks, ${SETTINGS.longStreams} at once): CPU per chunk (us)`
    const us = (value: number) => value.toFixed(1)

    // --peers: a proxy's figures for the table beside nginx. Latency at c=1 and the first byte
    // are the ones measured already; saturation at PEER_CONNECTIONS (by wrk where installed)
    // and streams of 20 chunks, one at a time, are measured with the proxy's CPU time.
    const peerRow = async (label: string, pid: number, target: Target, c1: Sides, firstByteAddedP50: number) => {
      const url = `http://127.0.0.1:${target.port}/v1/chat/completions`
      const seconds = SETTINGS.saturateMs / 1000
      const saturated = await cpuDuring(pid, async () =>
        withWrk
          ? wrkSaturate(url, chat("bench-model"), target.key, PEER_CONNECTIONS, seconds)
          : load<Saturation>({ kind: "saturate", target, body: chat("bench-model"), connections: PEER_CONNECTIONS, durationMs: SETTINGS.saturateMs }))
      const short = await cpuDuring(pid, () => load<StreamSides>({ kind: "stream", targets: [target], body: chat("bench-20", true), count: SETTINGS.shortStreams }))
      const [d, p] = [c1.direct!.latency, c1[target.name]!.latency]
      peers[label] = {
        addedP50: p.p50 - d.p50,
        addedP99: p.p99 - d.p99,
        requestsPerSecond: saturated.result.requestsPerSecond,
        cpuPerRequestUs: (saturated.cpuMs * 1000) / saturated.result.requests,
        firstByteAddedP50,
        cpuPerStreamUs: (short.cpuMs * 1000) / SETTINGS.shortStreams
      }
      return { saturation: saturated.result, saturationCpuMs: saturated.cpuMs, shortStreams: short.result[target.name], shortStreamsCpuMs: short.cpuMs }
    }
    if (PEERS) {
      const nginx = ensureNginx()
      if (nginx === undefined) throw new Error("--peers needs nginx, and it could not be installed (apt-get as root)")
      const proxy = await startNginx(nginx, direct.port)
      try {
        const target: Target = { name: "nginx", port: proxy.port, key: "unused" }
        const sides = await sequential(target)
        const streams = await load<StreamSides>({ kind: "stream", targets: [direct, target], body: chat("bench-model", true), count: SETTINGS.streams })
        const row = await peerRow("nginx", proxy.pid, target, sides, streams.nginx!.firstByte.p50 - streams.direct!.firstByte.p50)
        results.nginx = { version: spawnSync(nginx, ["-v"], { encoding: "utf8" }).stderr.trim(), sequential: sides, streaming: streams, ...row }
      } finally {
        await proxy.stop()
      }
    }

    // The yardstick: a forwarder that does nothing else, to show what the extra hop itself costs,
    // in latency, throughput, a stream's first byte, and memory per idle stream. On each runtime
    // it uses the server and upstream client the relay uses there (the executable's are Bun's).
    const forwarder = (runtime: SourceRuntime) => scriptCommand(runtime, runtime === "bun" ? "bench/reference-proxy-bun.ts" : "bench/reference-proxy.ts")
    const toMock = { BENCH_UPSTREAM: `http://127.0.0.1:${direct.port}` }
    const reference: Record<string, unknown> = {}
    for (const runtime of SOURCE_RUNTIMES) {
      const column = `yardstick on ${runtime}`
      const yardstick: Record<string, unknown> = {}
      reference[runtime] = yardstick
      const proxy = await start(forwarder(runtime), toMock, /"port":(\d+)/)
      const target: Target = { name: "reference", port: Number(proxy.match[1]), key: "unused" }
      try {
        const idleRssMiB = (await settledRss(proxy.child.pid!)) / 1024
        const sides = await sequential(target)
        const saturated = await saturate(target)
        const streams = await load<StreamSides>({ kind: "stream", targets: [direct, target], body: chat("bench-model", true), count: SETTINGS.streams })
        Object.assign(yardstick, { sequential: sides, saturation: saturated, streaming: streams })
        figures[column] = {
          ...addedLatency("yardstick (bare forwarder)", runtime, sides, "reference"),
          throughputPct: share(saturated.requestsPerSecond, ceiling.requestsPerSecond),
          firstByteP50: streams.reference!.firstByte.p50 - streams.direct!.firstByte.p50,
          idleRssMiB
        }
        table.cell(`yardstick: throughput, ${SETTINGS.connections} connections (req/s)`, runtime, throughput(saturated.requestsPerSecond, ceiling.requestsPerSecond), ceiling.requestsPerSecond)
        await wrkCell("yardstick: throughput measured by wrk (req/s)", column, runtime, target)
        table.cell("yardstick: stream first byte, added p50 (ms)", runtime, plus(figures[column].firstByteP50!), streams.direct!.firstByte.p50)
        const long = await longStreams(proxy.child.pid!, target, "bench-long")
        yardstick.longStreams = long
        figures[column] = { ...figures[column], cpuPerChunkUs: long.cpuPerChunkUs }
        table.cell(`yardstick: ${longRow.slice(4)}`, runtime, us(long.cpuPerChunkUs))
        table.cell("yardstick: idle after start, before any request: RSS (MiB)", runtime, idleRssMiB.toFixed(1))
        if (PEERS) yardstick.peers = await peerRow(column, proxy.child.pid!, target, sides, figures[column].firstByteP50!)
      } finally {
        await stop(proxy)
      }
      const held = collecting(runtime, forwarder(runtime))
      const holder = await start(held.command, { ...toMock, ...held.env }, /"port":(\d+)/)
      try {
        const memory = await holdIdleStreams(holder.child.pid!, { name: "reference", port: Number(holder.match[1]), key: "unused" }, "yardstick:", runtime)
        yardstick.idleStreams = memory.readings
        figures[column] = { ...figures[column], ...memory.figures }
      } finally {
        await stop(holder)
      }
    }
    results.reference = reference

    /** (b) to (d), (g) and (h), against a relay with the full stack. */
    const underLoad = async (runtime: RuntimeName, relay: Relay, sides: Sides) => {
      // (b) Fixed rates, open loop.
      const fixedRates: Record<string, { direct: Rate; relay: Rate }> = {}
      for (const rate of SETTINGS.rates) {
        const base = await load<Rate>({ kind: "rate", target: direct, body: chat("bench-model"), rate, durationMs: SETTINGS.rateMs })
        const through = await load<Rate>({ kind: "rate", target: relay.target, body: chat("bench-model"), rate, durationMs: SETTINGS.rateMs })
        fixedRates[String(rate)] = { direct: base, relay: through }
        for (const p of ["p50", "p99"] as const) {
          table.cell(`(b) ${rate} req/s open loop, latency ${p} (ms)`, runtime, ms(through.latency[p]), base.latency[p])
        }
        table.cell(`(b) ${rate} req/s open loop, errors`, runtime, `${through.errors} of ${through.sent}`, base.errors)
      }

      // (c) Saturation.
      const saturation = await saturate(relay.target)
      table.cell(`(c) throughput, ${SETTINGS.connections} connections (req/s)`, runtime, throughput(saturation.requestsPerSecond, ceiling.requestsPerSecond), ceiling.requestsPerSecond)
      await wrkCell("(c) throughput measured by wrk (req/s)", `(c) ${runtime}`, runtime, relay.target)

      // (d) Streams of 64 chunks: time to first byte, and gaps with chunks 2 ms apart upstream.
      const burst = await load<StreamSides>({ kind: "stream", targets: [direct, relay.target], body: chat("bench-model", true), count: SETTINGS.streams })
      const paced = await load<StreamSides>({ kind: "stream", targets: [direct, relay.target], body: chat("bench-paced", true), count: SETTINGS.pacedStreams })
      for (const p of ["p50", "p99"] as const) {
        table.cell(`(d) stream first byte, added ${p} (ms)`, runtime, plus(burst.relay!.firstByte[p] - burst.direct!.firstByte[p]), burst.direct!.firstByte[p])
      }
      for (const p of ["p50", "p99"] as const) {
        const [relayed, base] = [paced.relay!.gap[p], paced.direct!.gap[p]]
        table.cell(`(d) paced stream (upstream sends every 2 ms): gap between chunks ${p}, and added (ms)`, runtime, `${ms(relayed)} (${plus(relayed - base)})`, base)
      }
      table.cell("(d) paced stream: reads per stream of 64 chunks (fewer = chunks held back)", runtime, String(Math.round(paced.relay!.readsPerStream)), Math.round(paced.direct!.readsPerStream))

      // (g) The same 64-word stream from an Anthropic upstream: passed through to an Anthropic
      // client, and translated for an OpenAI client.
      const anthropicDirect: Target = { ...direct, name: "direct", path: "/v1/messages" }
      const messages = JSON.stringify({ model: "claude-bench", max_tokens: 200, stream: true, messages: [{ role: "user", content: "Say something." }] })
      const passed: Target = { ...relay.target, name: "passthrough", path: "/v1/messages", body: messages }
      const translated: Target = { ...relay.target, name: "translated", body: chat("claude-bench", true) }
      const translation = await load<StreamSides>({ kind: "stream", targets: [anthropicDirect, passed, translated], body: chat("claude-bench", true), count: SETTINGS.streams })
      const t = { d: translation.direct!, p: translation.passthrough!, x: translation.translated! }
      table.cell("(g) Anthropic stream passed through, first byte added p50 (ms)", runtime, plus(t.p.firstByte.p50 - t.d.firstByte.p50), t.d.firstByte.p50)
      table.cell("(g) the same translated for an OpenAI client, first byte added p50 (ms)", runtime, plus(t.x.firstByte.p50 - t.d.firstByte.p50), t.d.firstByte.p50)
      table.cell("(g) translation's own cost, whole 64 words p50 (ms)", runtime, plus(t.x.total.p50 - t.p.total.p50))

      // (h) Long streams, passed through and translated for an OpenAI client (from the mock's
      // Anthropic API).
      const long = {
        passthrough: await longStreams(relay.child.pid!, relay.target, "bench-long"),
        translated: await longStreams(relay.child.pid!, relay.target, "claude-long")
      }
      table.cell(`${longRow}, passed through`, runtime, us(long.passthrough.cpuPerChunkUs))
      table.cell(`${longRow}, translated`, runtime, us(long.translated.cpuPerChunkUs))

      const firstByteP50 = burst.relay!.firstByte.p50 - burst.direct!.firstByte.p50
      figures[runtime] = {
        ...figures[runtime],
        throughputPct: share(saturation.requestsPerSecond, ceiling.requestsPerSecond),
        firstByteP50,
        cpuPerChunkUs: long.passthrough.cpuPerChunkUs,
        cpuPerTranslatedChunkUs: long.translated.cpuPerChunkUs
      }
      const peer = PEERS ? { peers: await peerRow(`relay on ${runtime}`, relay.child.pid!, relay.target, sides, firstByteP50) } : {}
      return { fixedRates, saturation, streaming: { burst, paced }, translation, longStreams: long, ...peer }
    }

    const idleStreams = async (runtime: RuntimeName) => {
      const holder = await startRelay("full", direct.port, runtime, collecting(runtime, relayCommand(runtime)))
      try {
        const held = await holdIdleStreams(holder.child.pid!, holder.target, "(e)", runtime)
        figures[runtime] = { ...figures[runtime], ...held.figures }
        return held.readings
      } finally {
        await stopRelay(holder)
      }
    }

    /**
     * The full stack on PostgreSQL and Redis, as a node of several, measured right after the full
     * stack on SQLite and beside it: added latency at c=1, and saturation, taken for both here.
     */
    const clusterStack = async (runtime: RuntimeName, sqlite: Relay, sqliteSides: Sides) => {
      const relay = await startRelay("cluster", direct.port, runtime, { command: relayCommand(runtime), env: await clusterStores.env() })
      try {
        const sides = await sequential(relay.target)
        addedLatency("(a/f) cluster stack (PostgreSQL and Redis)", runtime, sides, "relay")
        const beyond = sides.relay!.latency.p50 - sqliteSides.relay!.latency.p50
        table.cell("(a/f) cluster stack: added p50 at c=1 beyond the full stack's (ms; target at most +0.300)", runtime, plus(beyond))
        const saturation = { sqlite: await saturate(sqlite.target), cluster: await saturate(relay.target) }
        for (const [name, measured] of Object.entries(saturation)) {
          table.cell(`(a/f) ${name === "sqlite" ? "full" : "cluster"} stack: throughput, ${SETTINGS.connections} connections (req/s)`, runtime, throughput(measured.requestsPerSecond, ceiling.requestsPerSecond), ceiling.requestsPerSecond)
        }
        return { sequential: sides, addedP50BeyondFull: beyond, saturation }
      } finally {
        await stopRelay(relay)
      }
    }

    // Every scenario on every runtime: (a) and (f) with each plugin stack, the rest with the full
    // stack; the cluster stack beside the full one.
    const measured: Record<string, unknown> = {}
    for (const runtime of runtimes) {
      const stacks: Record<string, Sides> = {}
      let loaded: Awaited<ReturnType<typeof underLoad>> | undefined
      let cluster: Awaited<ReturnType<typeof clusterStack>> | undefined
      for (const stack of STACKS) {
        const relay = await startRelay(stack, direct.port, runtime, undefined, stack === "full")
        try {
          const sides = await sequential(relay.target)
          stacks[stack] = sides
          const added = addedLatency(`(a/f) ${stack} stack`, runtime, sides, "relay")
          if (stack !== "full") continue
          const idleRssMiB = relay.idleRssKiB! / 1024
          table.cell("(e) full stack idle after start, before any request: RSS (MiB)", runtime, idleRssMiB.toFixed(1))
          figures[runtime] = { ...added, idleRssMiB }
          cluster = await clusterStack(runtime, relay, sides)
          loaded = await underLoad(runtime, relay, sides)
        } finally {
          await stopRelay(relay)
        }
      }
      measured[runtime] = { stacks, cluster, ...loaded, idleStreams: await idleStreams(runtime) }
    }
    results.runtimes = measured
    results.targets = compareTargets(figures)
    results.yardstickTargets = compareYardstickTargets(figures, yardstickOf(runtimes))
    if (PEERS) results.peers = peers
  } finally {
    await stop(mock)
    await clusterStores.stop()
  }
  console.log(`machine: ${describeMachine(machine)}\n`)
  console.log(table.markdown())
  console.log(`\nThe targets (full stack; "yardstick" is the bare forwarder):\n\n${targetTable(figures)}`)
  const own = ownCost(figures, yardstickOf(runtimes))
  results.ownCost = own
  console.log(`\nWhat the relay adds over the yardstick of its own runtime (the hop's cost drops out):\n\n${ownCostTable(own)}`)
  console.log(`\nThe targets over each runtime's yardstick (the executable's is Bun's):\n\n${yardstickTargetTable(figures, yardstickOf(runtimes))}`)
  if (PEERS) console.log(`\nnginx beside the yardsticks and the relay, full stack (CPU from /proc):\n\n${peerTable(peers)}`)
  const file = join(ROOT, QUICK ? "bench/results/quick.json" : "bench/results/latest.json")
  mkdirSync(join(ROOT, "bench/results"), { recursive: true })
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`)
  console.log(`\nwritten to ${file}`)
}

await main()
