import assert from "node:assert/strict"
import { describe, it } from "node:test"
import fc from "fast-check"
import { type Admission, type Limits, MemoryRateWindows } from "../../plugins/limiter/store.ts"
import { WINDOW_MS } from "../../plugins/limiter/window.ts"

const S0 = 1_700_000_000
const T0 = S0 * 1_000
const LIMITS: Limits = { rpm: 3, tpm: 1_000 }

type Refusal = Extract<Admission, { admitted: false }>
type Admitted = Extract<Admission, { admitted: true }>

const refused = (admission: Admission): Refusal => {
  assert.equal(admission.admitted, false, "expected a refusal")
  return admission as Refusal
}
const admitted = (admission: Admission): Admitted => {
  assert.equal(admission.admitted, true, "expected an admission")
  return admission as Admitted
}

describe("MemoryRateWindows admission state", () => {
  it("counts the admitted request as spent", () => {
    const windows = new MemoryRateWindows()
    const first = admitted(windows.admit("a", LIMITS, 100, T0))
    assert.deepEqual(first.state, { requestsRemaining: 2, resetSeconds: 60, tokensRemaining: 900 })
    assert.deepEqual(first.ticket, { second: S0, tokens: 100, request: String(T0) })
  })

  it("requestsRemaining goes down by one per request in a burst and never up", () => {
    const windows = new MemoryRateWindows()
    const remaining = [0, 1, 2].map((i) => admitted(windows.admit("a", LIMITS, 10, T0 + i)).state.requestsRemaining)
    assert.deepEqual(remaining, [2, 1, 0])
    const refusal = refused(windows.admit("a", LIMITS, 10, T0 + 3))
    assert.equal(refusal.state.requestsRemaining, 0)
    assert.equal(refusal.reason, "rpm")
  })

  it("resetSeconds is the whole seconds until the oldest request leaves", () => {
    const windows = new MemoryRateWindows()
    windows.admit("a", { rpm: 10, tpm: 1_000 }, 1, T0)
    const later = admitted(windows.admit("a", { rpm: 10, tpm: 1_000 }, 1, T0 + 30_500))
    assert.equal(later.state.resetSeconds, 30)
    const last = admitted(windows.admit("a", { rpm: 10, tpm: 1_000 }, 1, T0 + 59_999))
    assert.equal(last.state.resetSeconds, 1)
    // The first has left: the oldest is now the one at +30.5 s.
    const next = admitted(windows.admit("a", { rpm: 10, tpm: 1_000 }, 1, T0 + 60_000))
    assert.equal(next.state.resetSeconds, 31)
  })

  it("tokensRemaining reflects every admitted reservation in the window", () => {
    const windows = new MemoryRateWindows()
    windows.admit("a", { rpm: 10, tpm: 1_000 }, 300, T0)
    const second = admitted(windows.admit("a", { rpm: 10, tpm: 1_000 }, 450, T0 + 20_000))
    assert.equal(second.state.tokensRemaining, 250)
    const third = admitted(windows.admit("a", { rpm: 10, tpm: 1_000 }, 5, T0 + WINDOW_MS))
    assert.equal(third.state.tokensRemaining, 1_000 - 450 - 5)
  })
})

describe("MemoryRateWindows refusals", () => {
  it("refuses on rpm with retryAfterSeconds the ceiling of the time until the oldest leaves", () => {
    const windows = new MemoryRateWindows()
    windows.admit("a", LIMITS, 1, T0)
    windows.admit("a", LIMITS, 1, T0 + 1_000)
    windows.admit("a", LIMITS, 1, T0 + 2_000)
    assert.equal(refused(windows.admit("a", LIMITS, 1, T0 + 2_000)).retryAfterSeconds, 58)
    assert.equal(refused(windows.admit("a", LIMITS, 1, T0 + 30_500)).retryAfterSeconds, 30)
    assert.equal(refused(windows.admit("a", LIMITS, 1, T0 + 58_001)).retryAfterSeconds, 2)
    assert.equal(refused(windows.admit("a", LIMITS, 1, T0 + 59_001)).retryAfterSeconds, 1)
    const lastMs = refused(windows.admit("a", LIMITS, 1, T0 + 59_999))
    assert.equal(lastMs.reason, "rpm")
    assert.equal(lastMs.retryAfterSeconds, 1)
    assert.equal(lastMs.state.resetSeconds, 1)
    assert.equal(windows.admit("a", LIMITS, 1, T0 + 60_000).admitted, true)
  })

  it("refuses on tpm with the time until enough tokens leave", () => {
    const windows = new MemoryRateWindows()
    windows.admit("a", { rpm: 100, tpm: 1_000 }, 600, T0 + 200)
    windows.admit("a", { rpm: 100, tpm: 1_000 }, 300, T0 + 10_000)
    const refusal = refused(windows.admit("a", { rpm: 100, tpm: 1_000 }, 200, T0 + 20_000))
    assert.equal(refusal.reason, "tpm")
    // The first bucket (600 tokens, second S0) leaves at T0 + 60 s: 40 s from now.
    assert.equal(refusal.retryAfterSeconds, 40)
    assert.equal(refusal.state.requestsRemaining, 0)
    assert.equal(refusal.state.tokensRemaining, 100)
    // Exactly the tokens left fit.
    assert.equal(windows.admit("a", { rpm: 100, tpm: 1_000 }, 100, T0 + 20_000).admitted, true)
  })

  it("a tpm refusal close to the bucket's end asks for at least one second", () => {
    const windows = new MemoryRateWindows()
    windows.admit("a", { rpm: 100, tpm: 100 }, 100, T0)
    const refusal = refused(windows.admit("a", { rpm: 100, tpm: 100 }, 1, T0 + 59_999))
    assert.equal(refusal.reason, "tpm")
    assert.equal(refusal.retryAfterSeconds, 1)
  })

  it("a request needing more than the tpm alone is refused as tpm_exceeded_by_request", () => {
    const windows = new MemoryRateWindows()
    const refusal = refused(windows.admit("a", LIMITS, 1_001, T0))
    assert.equal(refusal.reason, "tpm_exceeded_by_request")
    assert.equal(refusal.retryAfterSeconds, 60)
    assert.equal(refusal.state.requestsRemaining, 0)
    assert.equal(refusal.state.tokensRemaining, 1_000)
    // Exactly the tpm is fine on an empty window.
    assert.equal(windows.admit("a", LIMITS, 1_000, T0).admitted, true)
  })

  it("rpm is checked before tpm", () => {
    const windows = new MemoryRateWindows()
    windows.admit("a", { rpm: 1, tpm: 100 }, 100, T0)
    assert.equal(refused(windows.admit("a", { rpm: 1, tpm: 100 }, 50, T0 + 1)).reason, "rpm")
    assert.equal(refused(windows.admit("a", { rpm: 1, tpm: 100 }, 500, T0 + 1)).reason, "rpm")
  })

  it("a refused request consumes neither requests nor tokens", () => {
    const windows = new MemoryRateWindows()
    const limits = { rpm: 2, tpm: 1_000 }
    windows.admit("a", limits, 900, T0)
    refused(windows.admit("a", limits, 200, T0 + 1))       // tpm
    refused(windows.admit("a", limits, 5_000, T0 + 2))     // too large
    const next = admitted(windows.admit("a", limits, 100, T0 + 3))
    assert.equal(next.state.requestsRemaining, 0)
    assert.equal(next.state.tokensRemaining, 0)
    refused(windows.admit("a", limits, 0, T0 + 4))         // rpm
    // Once the window has moved on, both are whole again: nothing refused was recorded.
    const fresh = admitted(windows.admit("a", limits, 10, T0 + 60_003))
    assert.equal(fresh.state.requestsRemaining, 1)
    assert.equal(fresh.state.tokensRemaining, 990)
  })
})

describe("MemoryRateWindows reconcile", () => {
  it("replaces the reservation with the real count, down and up", () => {
    const windows = new MemoryRateWindows()
    const limits = { rpm: 10, tpm: 1_000 }
    const first = admitted(windows.admit("a", limits, 500, T0))
    windows.reconcile("a", first.ticket, 120, T0 + 3_000)
    assert.equal(admitted(windows.admit("a", limits, 0, T0 + 3_000)).state.tokensRemaining, 880)
    const second = admitted(windows.admit("a", limits, 200, T0 + 4_000))
    assert.equal(second.state.tokensRemaining, 680)
    windows.reconcile("a", second.ticket, 700, T0 + 5_000)
    assert.equal(admitted(windows.admit("a", limits, 0, T0 + 5_000)).state.tokensRemaining, 180)
  })

  it("a downward correction makes room for a request refused before", () => {
    const windows = new MemoryRateWindows()
    const limits = { rpm: 10, tpm: 1_000 }
    const first = admitted(windows.admit("a", limits, 990, T0))
    assert.equal(refused(windows.admit("a", limits, 100, T0 + 1_000)).reason, "tpm")
    windows.reconcile("a", first.ticket, 10, T0 + 2_000)
    assert.equal(windows.admit("a", limits, 100, T0 + 2_000).admitted, true)
  })

  it("a correction after the reservation left the window changes nothing", () => {
    const windows = new MemoryRateWindows()
    const limits = { rpm: 10, tpm: 1_000 }
    const first = admitted(windows.admit("a", limits, 500, T0))
    windows.admit("a", limits, 100, T0 + 30_000)
    windows.reconcile("a", first.ticket, 900, T0 + 60_000)
    assert.equal(admitted(windows.admit("a", limits, 0, T0 + 60_000)).state.tokensRemaining, 900)
  })

  it("reconciling for an unknown account does nothing", () => {
    const windows = new MemoryRateWindows()
    assert.doesNotThrow(() => windows.reconcile("nobody", { second: S0, tokens: 10, request: String(T0) }, 5, T0))
    assert.equal(admitted(windows.admit("nobody", LIMITS, 0, T0)).state.tokensRemaining, 1_000)
  })
})

describe("MemoryRateWindows accounts and limits", () => {
  it("accounts are independent", () => {
    const windows = new MemoryRateWindows()
    windows.admit("a", { rpm: 1, tpm: 100 }, 100, T0)
    assert.equal(refused(windows.admit("a", { rpm: 1, tpm: 100 }, 1, T0)).reason, "rpm")
    const b = admitted(windows.admit("b", { rpm: 1, tpm: 100 }, 100, T0))
    assert.equal(b.state.tokensRemaining, 0)
    assert.equal(b.state.requestsRemaining, 0)
  })

  it("per-account limits apply on the next call, over the same window", () => {
    const windows = new MemoryRateWindows()
    admitted(windows.admit("a", { rpm: 1, tpm: 1_000 }, 10, T0))
    refused(windows.admit("a", { rpm: 1, tpm: 1_000 }, 10, T0 + 1))
    // Raised to 3: two more, since the first one still counts.
    assert.equal(admitted(windows.admit("a", { rpm: 3, tpm: 1_000 }, 10, T0 + 2)).state.requestsRemaining, 1)
    assert.equal(admitted(windows.admit("a", { rpm: 3, tpm: 1_000 }, 10, T0 + 3)).state.requestsRemaining, 0)
    refused(windows.admit("a", { rpm: 3, tpm: 1_000 }, 10, T0 + 4))
    // A lowered tpm takes effect at once as well.
    const lowered = refused(windows.admit("a", { rpm: 10, tpm: 35 }, 10, T0 + 5))
    assert.equal(lowered.reason, "tpm")
    assert.equal(lowered.state.tokensRemaining, 5)
  })

  it("keeps an account that was active within the minute across the periodic clean-up", () => {
    const windows = new MemoryRateWindows()
    windows.admit("busy", { rpm: 1, tpm: 1_000 }, 1, T0)
    // Enough admissions of other accounts to run the idle clean-up at least once.
    for (let i = 0; i < 5_000; i++) windows.admit(`other-${i}`, LIMITS, 1, T0 + 1_000)
    assert.equal(refused(windows.admit("busy", { rpm: 1, tpm: 1_000 }, 1, T0 + 2_000)).reason, "rpm")
  })
})

describe("MemoryRateWindows properties", () => {
  it("never admits more than rpm requests in any 60 s span nor more than tpm tokens in the window", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 50, max: 2_000 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 15_000 }), fc.integer({ min: 0, max: 800 })), { minLength: 1, maxLength: 80 }),
        (rpm, tpm, requests) => {
          const windows = new MemoryRateWindows()
          const log: Array<{ t: number; tokens: number }> = []
          let t = T0
          let lastRemaining = Infinity
          let lastT = -1
          for (const [gap, tokens] of requests) {
            t += gap
            const admission = windows.admit("a", { rpm, tpm }, tokens, t)
            if (t !== lastT) lastRemaining = Infinity
            lastT = t
            if (!admission.admitted) {
              assert.ok(admission.retryAfterSeconds >= 1)
              assert.equal(admission.state.requestsRemaining, 0)
              continue
            }
            // Within one millisecond the admitted requests see the remaining count only go down.
            assert.ok(admission.state.requestsRemaining < lastRemaining, "remaining never grows within a burst")
            lastRemaining = admission.state.requestsRemaining
            log.push({ t, tokens })
            const inSpan = log.filter((entry) => entry.t > t - 60_000)
            assert.ok(inSpan.length <= rpm)
            assert.equal(admission.state.requestsRemaining, rpm - inSpan.length)
            const second = Math.floor(t / 1_000)
            const live = log.filter((entry) => Math.floor(entry.t / 1_000) > second - 60).reduce((sum, entry) => sum + entry.tokens, 0)
            assert.ok(live <= tpm, `${live} tokens in the window over ${tpm}`)
            assert.equal(admission.state.tokensRemaining, tpm - live)
          }
        }
      ),
      { numRuns: 300 }
    )
  })
})
