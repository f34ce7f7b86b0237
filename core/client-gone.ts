/**
 * Watches for a request's client going away before its answer is complete: calls `gone` then,
 * and returns the function that stops watching.
 */
export type ClientWatch = (gone: () => void) => () => void

const watches = new WeakMap<Request, ClientWatch>()

/**
 * Gives `request` a watch of its own, for a runtime that knows of its client's going away more
 * cheaply than through the request's AbortSignal. On Node, reading `request.signal` makes the
 * server adapter create an AbortController for the request, which an open stream keeps (about
 * 0.8 KiB); the response's close event tells the same.
 */
export const watchClientWith = (request: Request, watch: ClientWatch): void => {
  watches.set(request, watch)
}

/** Calls `gone` when the client of `request` goes away; returns the function that stops watching. */
export const whenClientGone = (request: Request, gone: () => void): (() => void) => {
  const watch = watches.get(request)
  if (watch !== undefined) return watch(gone)
  const { signal } = request
  if (signal.aborted) {
    gone()
    return () => undefined
  }
  signal.addEventListener("abort", gone, { once: true })
  return () => signal.removeEventListener("abort", gone)
}
