import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { nginxConfig } from "../../bench/nginx.ts"
import { peerTable } from "../../bench/peers.ts"

describe("bench peers", () => {
  it("prints a row per proxy with the comparison's columns, in the order given", () => {
    const lines = peerTable({
      nginx: { addedP50: 0.046, addedP99: 0.118, requestsPerSecond: 22354.4, cpuPerRequestUs: 37.2, firstByteAddedP50: 0.106, cpuPerStreamUs: 55 },
      "relay on node": { addedP50: 0.48, addedP99: 5.266, requestsPerSecond: 2389, cpuPerRequestUs: 435.6, firstByteAddedP50: -0.01, cpuPerStreamUs: 718 }
    }).split("\n")
    assert.deepEqual(lines, [
      "|  | added p50 / p99 at c=1 | req/s at 32 conns | CPU per request | stream first byte added | CPU per 20-chunk stream |",
      "|---|---|---|---|---|---|",
      "| nginx | +0.046 / +0.118 ms | 22,354 | 37 us | +0.106 ms | 55 us |",
      "| relay on node | +0.480 / +5.266 ms | 2,389 | 436 us | -0.010 ms | 718 us |"
    ])
  })

  it("runs nginx in the foreground from its own directory, streaming unbuffered over kept-alive upstream connections", () => {
    const config = nginxConfig("/tmp/x", 8081, 9091, false)
    assert.match(config, /daemon off;/)
    assert.match(config, /pid \/tmp\/x\/nginx\.pid;/)
    assert.match(config, /listen 127\.0\.0\.1:8081;/)
    assert.match(config, /server 127\.0\.0\.1:9091;/)
    assert.match(config, /proxy_buffering off;/)
    assert.match(config, /proxy_http_version 1\.1;/)
    assert.match(config, /proxy_set_header Connection "";/)
    assert.doesNotMatch(config, /user root;/)
    assert.match(nginxConfig("/tmp/x", 8081, 9091, true), /user root;/, "as root, the worker may write the directory root made")
  })
})
