import { markdownTable } from "./table.ts"

/**
 * `npm run bench -- --peers`: nginx, a compiled proxy, beside each runtime's yardstick and the
 * relay on each runtime, on the measures a proxy's users feel and the CPU it burns for them.
 */
export interface PeerFigures {
  /** Added latency over calling the mock directly, concurrency 1 (ms). */
  readonly addedP50: number
  readonly addedP99: number
  /** Saturation throughput at `PEER_CONNECTIONS` connections, measured by wrk where installed. */
  readonly requestsPerSecond: number
  /** The proxy's CPU time per request in that run (µs). */
  readonly cpuPerRequestUs: number
  /** Added time to a stream's first byte, p50 (ms). */
  readonly firstByteAddedP50: number
  /** The proxy's CPU time per stream of 20 chunks, streams one at a time (µs). */
  readonly cpuPerStreamUs: number
}

/** The connections of the throughput column, as in the comparison the relay is held to. */
export const PEER_CONNECTIONS = 32

const signed = (value: number) => `${value < 0 ? "" : "+"}${value.toFixed(3)}`

/** A row per proxy, in the order given. */
export const peerTable = (rows: Readonly<Record<string, PeerFigures>>): string =>
  markdownTable(
    ["", "added p50 / p99 at c=1", `req/s at ${PEER_CONNECTIONS} conns`, "CPU per request", "stream first byte added", "CPU per 20-chunk stream"],
    Object.entries(rows).map(([name, row]) => [
      name,
      `${signed(row.addedP50)} / ${signed(row.addedP99)} ms`,
      Math.round(row.requestsPerSecond).toLocaleString("en-US"),
      `${Math.round(row.cpuPerRequestUs)} us`,
      `${signed(row.firstByteAddedP50)} ms`,
      `${Math.round(row.cpuPerStreamUs)} us`
    ])
  )
