import { readdirSync, readFileSync } from "node:fs"

/**
 * CPU time a process has used (Linux, from /proc), with its children's: nginx works in a
 * worker under its master, and a runtime may run its script in a child of the command started.
 * Read from each thread's schedstat, in nanoseconds: the clock ticks of /proc/<pid>/stat are
 * 10 ms, too coarse for a few hundred short streams. A thread that ends between two readings
 * takes its time with it; the runtimes' threads (the collector's, the I/O pool) live as long
 * as the process.
 */
const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8")
  } catch {
    return undefined
  }
}

const list = (path: string): Array<string> => {
  try {
    return readdirSync(path)
  } catch {
    return []
  }
}

/** A process's parent, from the fields after its command name (in parentheses, maybe with spaces). */
const parentOf = (pid: string): number | undefined => {
  const text = read(`/proc/${pid}/stat`)
  return text === undefined ? undefined : Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[1])
}

/** `pid` and every live process under it. */
const tree = (pid: number): Set<number> => {
  const parents = new Map<number, number>()
  for (const entry of list("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const parent = parentOf(entry)
    if (parent !== undefined) parents.set(Number(entry), parent)
  }
  const found = new Set([pid])
  // Parents may have higher ids than their children (ids wrap): repeat until none joins.
  for (let grew = true; grew;) {
    grew = false
    for (const [id, parent] of parents) {
      if (!found.has(id) && found.has(parent)) {
        found.add(id)
        grew = true
      }
    }
  }
  return found
}

/** The CPU time `pid` and every live process under it have used so far, in milliseconds. */
export const cpuMs = (pid: number): number => {
  let ns = 0
  for (const id of tree(pid)) {
    for (const thread of list(`/proc/${id}/task`)) ns += Number(read(`/proc/${id}/task/${thread}/schedstat`)?.split(" ")[0] ?? 0)
  }
  return ns / 1e6
}

/** Runs `work` and returns its result with the CPU time `pid` used meanwhile (ms). */
export const cpuDuring = async <T>(pid: number, work: () => Promise<T>): Promise<{ readonly result: T; readonly cpuMs: number }> => {
  const before = cpuMs(pid)
  const result = await work()
  return { result, cpuMs: cpuMs(pid) - before }
}
