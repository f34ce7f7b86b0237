import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, it } from "node:test"
import { ROOT } from "../helpers/relay.ts"
import { BINARY } from "../helpers/runtimes.ts"

/**
 * Runs the benchmark in its quick form so the script cannot rot. It checks that every scenario
 * ran and produced figures, never how fast anything was: timings are not asserted in tests.
 */
describe("npm run bench, quick form", () => {
  it("runs every scenario on every runtime without errors and writes its figures", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "bench/run.ts", "--quick"], { cwd: ROOT, encoding: "utf8", timeout: 300_000 })
    assert.equal(run.status, 0, run.stderr)
    const runtimes = ["node", "bun", "deno", ...(existsSync(BINARY) ? ["binary"] : [])]
    assert.match(run.stdout, new RegExp(`\\| measure \\| direct \\| ${runtimes.join(" \\| ")} \\|`))
    const results = JSON.parse(readFileSync(join(ROOT, "bench/results/quick.json"), "utf8"))
    assert.equal(results.quick, true)
    // The machine is named, in the report and the figures, with how its idle CPUs wait.
    assert.match(run.stdout, /^machine: \d+ CPUs /m)
    assert.ok(results.machine.cpus > 0 && "cpuIdle" in results.machine)
    for (const runtime of ["node", "bun", "deno"]) {
      const yardstick = results.reference[runtime]
      assert.equal(yardstick.sequential.reference.errors, 0, `the yardstick forwarder on ${runtime}`)
      assert.equal(yardstick.saturation.errors, 0)
      assert.equal(yardstick.streaming.reference.errors, 0)
      assert.equal(yardstick.idleStreams.rounds.length, 2)
      // Bun's forwarder holds its streams outside the JS heap: what counts is that all were open.
      for (const round of yardstick.idleStreams.rounds) assert.equal(round.open, 100, `streams held through the yardstick on ${runtime}`)
      // Long streams: every chunk arrived, and the forwarder's CPU time was read.
      assert.equal(yardstick.longStreams.errors, 0, `long streams through the yardstick on ${runtime}`)
      assert.equal(yardstick.longStreams.total.count, 2)
      assert.ok(yardstick.longStreams.cpuMs > 0 && Number.isFinite(yardstick.longStreams.cpuPerChunkUs))
    }
    assert.deepEqual(Object.keys(results.runtimes), runtimes)
    for (const runtime of runtimes) {
      const measured = results.runtimes[runtime]
      for (const stack of ["bare", "keys", "full"]) {
        const sides = measured.stacks[stack]
        assert.equal(sides.direct.errors, 0)
        assert.equal(sides.relay.errors, 0, `${stack} stack on ${runtime} answered every request`)
        assert.ok(sides.relay.latency.count > 0)
      }
      // The cluster stack, on PostgreSQL and Redis, beside the full stack on SQLite.
      const cluster = measured.cluster
      assert.equal(cluster.sequential.relay.errors, 0, `cluster stack on ${runtime} answered every request`)
      assert.ok(cluster.sequential.relay.latency.count > 0)
      assert.ok(Number.isFinite(cluster.addedP50BeyondFull))
      for (const side of ["sqlite", "cluster"]) {
        assert.equal(cluster.saturation[side].errors, 0, `${side} saturation on ${runtime}`)
        assert.ok(cluster.saturation[side].requestsPerSecond > 0)
      }
      for (const { relay } of Object.values(measured.fixedRates as Record<string, { relay: { errors: number; sent: number } }>)) {
        assert.equal(relay.errors, 0, `fixed rate on ${runtime}`)
        assert.ok(relay.sent > 0)
      }
      assert.equal(measured.saturation.errors, 0)
      assert.ok(measured.saturation.requestsPerSecond > 0)
      assert.equal(measured.streaming.burst.relay.errors, 0)
      const paced = measured.streaming.paced.relay
      assert.equal(paced.errors, 0)
      assert.ok(paced.readsPerStream > 1, `a paced stream arrives in several reads on ${runtime}`)
      for (const side of ["direct", "passthrough", "translated"]) {
        assert.equal(measured.translation[side].errors, 0, `${side} Anthropic streams on ${runtime}`)
        assert.ok(measured.translation[side].readsPerStream >= 1)
      }
      for (const side of ["passthrough", "translated"]) {
        const long = measured.longStreams[side]
        assert.equal(long.errors, 0, `long streams ${side} on ${runtime}`)
        assert.equal(long.total.count, 2)
        assert.ok(long.readsPerStream > 1, `a long stream arrives in many reads (${side} on ${runtime})`)
        assert.ok(long.cpuMs > 0 && Number.isFinite(long.cpuPerChunkUs), `the relay's CPU time was read (${side} on ${runtime})`)
      }
      // Two rounds of readings, each a figure (its size is the machine's business, not the test's).
      const idle = measured.idleStreams
      assert.equal(idle.streams, 100)
      assert.equal(idle.rounds.length, 2)
      for (const round of idle.rounds) {
        assert.equal(round.open, 100, `streams held through the relay on ${runtime}`)
        assert.ok(round.idleKiB > 0 && round.openKiB > 0 && round.idleHeapKiB > 0, `memory read on ${runtime}`)
      }
      assert.ok(idle.bytesPerStream.every(Number.isFinite))
      assert.equal(idle.heapBytesPerStream.length, 2)
      assert.ok(idle.heapBytesPerStream.every(Number.isFinite))
      for (const round of idle.rounds) assert.ok(round.openHeapKiB > round.idleHeapKiB, `open streams hold heap on ${runtime}`)
    }
    // wrk's figures, when it is installed (the quick run never installs it).
    if (results.wrk !== "not installed") {
      for (const [label, figure] of Object.entries(results.wrk as Record<string, { requestsPerSecond: number; errors: number }>)) {
        assert.equal(figure.errors, 0, `wrk against ${label}`)
        assert.ok(figure.requestsPerSecond > 0)
      }
      for (const runtime of runtimes) assert.ok(results.wrk[`(c) ${runtime}`], `the relay's saturation on ${runtime} was measured with wrk too`)
    }
    // Each runtime's relay is set against its own runtime's yardstick, the executable against Bun's.
    assert.deepEqual(Object.keys(results.ownCost), runtimes)
    for (const runtime of runtimes) assert.equal(Object.keys(results.ownCost[runtime]).length, 6, `every measure over the yardstick on ${runtime}`)
    // Every target is compared, with a figure for the yardsticks and the full stack on each runtime.
    const columns = ["yardstick on node", "yardstick on bun", "yardstick on deno", ...runtimes]
    assert.match(run.stdout, new RegExp(`\\| target \\| ${columns.join(" \\| ")} \\|`))
    assert.equal(results.targets.length, 6)
    for (const { target, measured } of results.targets as Array<{ target: string; measured: Record<string, { value: number; met: boolean }> }>) {
      for (const column of columns) {
        assert.ok(Number.isFinite(measured[column]?.value), `${column} has a figure for ${target}`)
        assert.equal(typeof measured[column]!.met, "boolean")
      }
    }
    // The targets over each runtime's yardstick: a figure for every relay, CPU per chunk and memory included.
    assert.match(run.stdout, new RegExp(`\\| target over its runtime's yardstick \\| ${runtimes.join(" \\| ")} \\|`))
    assert.equal(results.yardstickTargets.length, 8)
    for (const { target, measured } of results.yardstickTargets as Array<{ target: string; measured: Record<string, { value: number; met: boolean; ratioToTarget: number }> }>) {
      assert.deepEqual(Object.keys(measured), runtimes, `every relay has a figure for ${target}`)
      for (const runtime of runtimes) assert.ok(Number.isFinite(measured[runtime]!.ratioToTarget), `${runtime}: ${target}`)
    }
  })
})
