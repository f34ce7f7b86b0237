/**
 * How long the relay waits for a store's answer, counted as time the relay could have read it.
 *
 * A timer that fires well after it was due means the event loop was held up meanwhile (a large
 * module's first load, a long garbage collection): the store's answer may be in the socket,
 * unread, and a timer runs before the loop reads sockets. Blaming the store then turns the
 * relay's own pause into a 503. So a late timer gives the loop a short turn to read first; a
 * store that really is silent still fails within the bound, plus a grace per pause of the
 * relay's own (a few at most).
 */

/** The turn a late deadline gives the loop to read what arrived, and how late counts as held up. */
const GRACE_MS = 20
/** Graces in a row at most: a loop held up again and again still fails the store in the end. */
const MAX_GRACES = 5

/** `answer`, or the error `timedOut` makes once `ms` of the relay's free time pass without it. */
export const answerWithin = <A>(answer: Promise<A>, ms: number, timedOut: () => Error): Promise<A> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    const arm = (wait: number, graces: number) => {
      const due = performance.now() + wait
      timer = setTimeout(() => {
        const heldUp = performance.now() - due > GRACE_MS
        if (heldUp && graces < MAX_GRACES) arm(GRACE_MS, graces + 1)
        else reject(timedOut())
      }, wait)
    }
    arm(ms, 0)
  })
  return Promise.race([answer, late]).finally(() => clearTimeout(timer))
}
