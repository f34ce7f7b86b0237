import { renameSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * Preloaded into the relay by the idle-stream scenario only (Node and Deno with the collector
 * exposed, Bun as is): SIGUSR2 runs a full garbage collection, so the memory read next is what
 * the relay keeps, not garbage the collector has not reached yet, and writes the live heap
 * (`heapMemoryFile`) for the bench: resident memory also counts pages the heap has grown into
 * and not yet returned, which swing from run to run; the live heap does not. Plain JavaScript:
 * Node preloads it beside the relay compiled ahead (runtime/node-aot.mjs), with no TypeScript hook.
 */
/** @param {number} pid */
export const heapMemoryFile = (pid) => join(tmpdir(), `relay-bench-heap-${pid}.json`)

const { gc, Bun } = globalThis
const collect = gc ?? (Bun ? () => Bun.gc(true) : undefined)

process.on("SIGUSR2", () => {
  collect?.()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  // Written aside and renamed into place: the bench reads the file as soon as it appears.
  const file = heapMemoryFile(process.pid)
  writeFileSync(`${file}.partial`, JSON.stringify({ heapUsed, arrayBuffers }))
  renameSync(`${file}.partial`, file)
})
