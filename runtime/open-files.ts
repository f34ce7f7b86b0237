import { readFileSync } from "node:fs"

/**
 * The process's limit on open file descriptors (its soft RLIMIT_NOFILE, which Node and Bun
 * raise to the hard limit as they start), read from /proc/self/limits; undefined where there
 * is no such file (not Linux) or it does not say.
 */
export const openFileLimit = (): number | undefined => {
  let limits: string
  try {
    limits = readFileSync("/proc/self/limits", "utf8")
  } catch {
    return undefined
  }
  const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1]
  return soft === undefined || soft === "unlimited" ? undefined : Number(soft)
}

/**
 * Descriptors kept out of the connections' share: the runtime's own (standard streams, its
 * event loop, workers), the listening socket, the store and its journal, the idle connections
 * of the upstream pools, and the connections past the cap, each of which holds one descriptor
 * while it is told 429. A hundred and twenty-eight: the runtimes hold 15 to 35 at rest.
 */
const RESERVE = 128

/**
 * The connection cap that fits in `limit` descriptors: a connection carrying a streamed request
 * holds two (the client's and the upstream's). Past it accept() would fail, and the operating
 * system would close a connection with no answer at all; under it every caller is answered,
 * past the cap with the 429 that says when to come back.
 */
export const connectionsThatFit = (limit: number): number => Math.max(1, Math.floor((limit - RESERVE) / 2))
