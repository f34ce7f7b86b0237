import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { compareTargets, ownCost, ownCostTable, TARGETS, targetTable } from "../../bench/targets.ts"

describe("bench targets", () => {
  const columns = {
    yardstick: { addedP50: 0.2, addedP99: 1.2, throughputPct: 61 },
    node: { addedP50: 0.5, addedP99: 0.6, throughputPct: 15, firstByteP50: 0.3, rssFirstKiB: 30, rssSteadyKiB: 8.5 }
  }

  it("calls a limit met at or under it, and a floor met at or over it", () => {
    const byTarget = new Map(compareTargets(columns).map((row) => [row.target, row.measured]))
    const p50 = byTarget.get("added latency p50, c=1, full stack: at most 0.250 ms")!
    assert.deepEqual(p50, { yardstick: { value: 0.2, met: true }, node: { value: 0.5, met: false } })
    const p99 = byTarget.get("added latency p99, c=1, full stack: at most 0.600 ms")!
    assert.equal(p99.node!.met, true, "exactly the limit meets it")
    const throughput = byTarget.get("saturation throughput, share of direct: at least 60%")!
    assert.deepEqual(throughput, { yardstick: { value: 61, met: true }, node: { value: 15, met: false } })
    const steady = byTarget.get("RSS per idle open stream, steady state: at most 20.0 KiB")!
    assert.deepEqual(steady, { node: { value: 8.5, met: true } }, "a column without the figure is left out")
  })

  it("prints a row per target with the figure and how far it is from the target", () => {
    const lines = targetTable(columns).split("\n")
    assert.equal(lines[0], "| target | yardstick | node |")
    assert.equal(lines.length, 2 + TARGETS.length)
    assert.equal(lines[2], "| added latency p50, c=1, full stack: at most 0.250 ms | 0.200 ms, met | 0.500 ms, 2.00x the target |")
    assert.equal(lines[4], "| saturation throughput, share of direct: at least 60% | 61%, met | 15%, 0.25x the target |")
    assert.equal(lines[6], "| RSS per idle open stream, first round: at most 20.0 KiB |  | 30.0 KiB, 1.50x the target |")
  })

  it("takes each relay's figures against its own runtime's yardstick, and prints them", () => {
    const figures = {
      "yardstick on bun": { addedP50: 0.125, throughputPct: 64, rssFirstKiB: 4 },
      bun: { addedP50: 0.375, throughputPct: 32, rssFirstKiB: 20.5, firstByteP50: 0.5 },
      binary: { addedP50: 0.25, throughputPct: 48 },
      node: { addedP50: 0.6 }
    }
    // The executable is measured against Bun's yardstick; a relay whose yardstick did not run is left out.
    const own = ownCost(figures, { bun: "yardstick on bun", binary: "yardstick on bun", node: "yardstick on node" })
    assert.deepEqual(own, {
      bun: { addedP50: 0.25, throughputPct: 50, rssFirstKiB: 16.5 },
      binary: { addedP50: 0.125, throughputPct: 75 }
    })
    const lines = ownCostTable(own).split("\n")
    assert.equal(lines[0], "| over its runtime's yardstick | bun | binary |")
    assert.equal(lines.length, 2 + TARGETS.length)
    assert.equal(lines[2], "| added latency p50, c=1, full stack | +0.250 ms | +0.125 ms |")
    assert.equal(lines[4], "| saturation throughput, share of the yardstick's | 50% | 75% |")
    assert.equal(lines[5], "| stream first byte added, p50 |  |  |", "a figure the yardstick lacks is left empty")
    assert.equal(lines[6], "| RSS per idle open stream, first round | +16.5 KiB |  |")
  })
})
