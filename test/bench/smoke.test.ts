import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, it } from "node:test"
import { ROOT } from "../helpers/relay.ts"

/**
 * Runs the benchmark in its quick form so the script cannot rot. It checks that every scenario
 * ran and produced figures, never how fast anything was: timings are not asserted in tests.
 */
describe("npm run bench, quick form", () => {
  it("runs every scenario without errors and writes its figures", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "bench/run.ts", "--quick"], { cwd: ROOT, encoding: "utf8", timeout: 180_000 })
    assert.equal(run.status, 0, run.stderr)
    assert.match(run.stdout, /\| measure \| direct \| through relay \| added \|/)
    const results = JSON.parse(readFileSync(join(ROOT, "bench/results/quick.json"), "utf8"))
    assert.equal(results.quick, true)
    for (const runtime of ["node", "bun"]) {
      assert.equal(results.reference[runtime].sequential.reference.errors, 0, `the yardstick forwarder on ${runtime}`)
      assert.equal(results.reference[runtime].saturation.errors, 0)
    }
    for (const stack of ["bare", "keys", "full"]) {
      const sides = results.stacks[stack]
      assert.equal(sides.direct.errors, 0)
      assert.equal(sides[`relay-${stack}`].errors, 0, `${stack} stack answered every request`)
      assert.ok(sides[`relay-${stack}`].latency.count > 0)
    }
    assert.equal(results.saturation.relay.errors, 0)
    assert.ok(results.saturation.relay.requestsPerSecond > 0)
    const paced = results.streaming.paced["relay-full"]
    assert.equal(paced.errors, 0)
    assert.ok(paced.readsPerStream > 1, "a paced stream arrives in several reads")
    assert.equal(results.idleStreams.streams, 100)
    // Two rounds of readings, each a figure (its size is the machine's business, not the test's).
    assert.equal(results.idleStreams.rounds.length, 2)
    for (const round of results.idleStreams.rounds) assert.ok(round.idleKiB > 0 && round.openKiB > 0)
    assert.ok(results.idleStreams.bytesPerStream.every(Number.isFinite))
    assert.equal(results.idleStreams.heapBytesPerStream.length, 2)
    assert.ok(results.idleStreams.heapBytesPerStream.every(Number.isFinite))
    for (const round of results.idleStreams.rounds) assert.ok(round.idleHeapKiB > 0 && round.openHeapKiB > round.idleHeapKiB, "open streams hold heap")
    for (const side of ["direct", "passthrough", "translated"]) {
      assert.equal(results.translation[side].errors, 0, `${side} Anthropic streams`)
      assert.ok(results.translation[side].readsPerStream >= 1)
    }
    // wrk's figures, when it is installed (the quick run never installs it).
    if (results.wrk !== "not installed") {
      for (const [label, figure] of Object.entries(results.wrk as Record<string, { requestsPerSecond: number; errors: number }>)) {
        assert.equal(figure.errors, 0, `wrk against ${label}`)
        assert.ok(figure.requestsPerSecond > 0)
      }
      assert.ok(results.wrk["(c) node"], "the relay's saturation was measured with wrk too")
    }
    for (const runtime of ["bun", "deno"]) {
      assert.equal(results.runtimes[runtime].sequential[`relay-${runtime}`].errors, 0, `${runtime} answered every request`)
      assert.equal(results.runtimes[runtime].saturation.errors, 0)
    }
    // Every target is compared, with a figure for the full stack on each runtime it names.
    assert.match(run.stdout, /\| target \| yardstick on node \| yardstick on bun \| node \| bun \| deno/)
    assert.equal(results.targets.length, 6)
    for (const { target, measured } of results.targets as Array<{ target: string; measured: Record<string, { value: number; met: boolean }> }>) {
      assert.ok(Number.isFinite(measured.node?.value), `node has a figure for ${target}`)
      assert.equal(typeof measured.node!.met, "boolean")
    }
  })
})
