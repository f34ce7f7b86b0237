import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { Counter, Gauge, Histogram, Registry, UsdCounter } from "../../plugins/metrics/registry.ts"

describe("metrics registry: the Prometheus text format", () => {
  it("writes HELP and TYPE for every family, and a label-less gauge from the start", () => {
    const registry = new Registry()
    registry.add(new Counter("a_total", "Things.", ["kind"]))
    registry.add(new Gauge("open", "Open now.", []))
    assert.equal(registry.render(), "# HELP a_total Things.\n# TYPE a_total counter\n# HELP open Open now.\n# TYPE open gauge\nopen 0\n")
  })

  it("keeps one series per label set and escapes label values", () => {
    const counter = new Counter("requests_total", "Requests.", ["model", "status"])
    counter.inc({ model: "a", status: "200" })
    counter.inc({ model: "a", status: "200" }, 2)
    counter.inc({ model: "quote\"back\\slash\nline", status: "500" })
    const lines = counter.render().split("\n").slice(2)
    assert.deepEqual(lines, [
      "requests_total{model=\"a\",status=\"200\"} 3",
      "requests_total{model=\"quote\\\"back\\\\slash\\nline\",status=\"500\"} 1"
    ])
  })

  it("counts money exactly in nano-USD", () => {
    const cost = new UsdCounter("cost_usd_total", "Cost.", ["model"])
    // 0.1 + 0.2 in floating point is 0.30000000000000004; in nano-USD it is exact.
    cost.add({ model: "m" }, 100_000_000n)
    cost.add({ model: "m" }, 200_000_000n)
    cost.add({ model: "m" }, 1n)
    assert.equal(cost.render().split("\n")[2], "cost_usd_total{model=\"m\"} 0.300000001")
  })

  it("writes cumulative histogram buckets with +Inf, sum and count", () => {
    const histogram = new Histogram("latency_seconds", "Latency.", ["route"], [0.1, 1])
    for (const value of [0.05, 0.1, 0.5, 3]) histogram.observe({ route: "r" }, value)
    assert.deepEqual(histogram.render().split("\n").slice(2), [
      "latency_seconds_bucket{route=\"r\",le=\"0.1\"} 2",
      "latency_seconds_bucket{route=\"r\",le=\"1\"} 3",
      "latency_seconds_bucket{route=\"r\",le=\"+Inf\"} 4",
      "latency_seconds_sum{route=\"r\"} 3.65",
      "latency_seconds_count{route=\"r\"} 4"
    ])
  })

  it("moves a gauge both ways", () => {
    const gauge = new Gauge("open_streams", "Open.", [])
    gauge.add({}, 1)
    gauge.add({}, 1)
    gauge.add({}, -1)
    assert.equal(gauge.render().split("\n")[2], "open_streams 1")
  })
})
