import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { Sessions } from "../../plugins/console/sessions.ts"

const make = (maxSessions = 3) => {
  let now = 1_000_000
  const sessions = new Sessions({ ttlMs: 10_000, anonymousTtlMs: 1_000, maxSessions, now: () => now })
  return { sessions, advance: (ms: number) => void (now += ms) }
}

describe("console sessions", () => {
  it("gives each session a fresh random id and CSRF token", () => {
    const { sessions } = make()
    const a = sessions.create(undefined)
    const b = sessions.create({ kind: "admin" })
    assert.match(a.id, /^[0-9A-Za-z]{32}$/)
    assert.notEqual(a.id, b.id)
    assert.notEqual(a.csrf, b.csrf)
    assert.notEqual(a.id, a.csrf)
    assert.equal(sessions.get(b.id), b)
  })

  it("expires signed-out sessions sooner than signed-in ones", () => {
    const { sessions, advance } = make()
    const anonymous = sessions.create(undefined)
    const user = sessions.create({ kind: "user", accountId: "acct_1", keyId: "key_1" })
    advance(1_000)
    assert.equal(sessions.get(anonymous.id), undefined)
    assert.equal(sessions.get(user.id), user)
    advance(9_000)
    assert.equal(sessions.get(user.id), undefined)
  })

  it("never lets a flood of visits push out a signed-in session", () => {
    const { sessions } = make(3)
    const admin = sessions.create({ kind: "admin" })
    const visits = Array.from({ length: 50 }, () => sessions.create(undefined))
    assert.equal(sessions.get(admin.id), admin)
    assert.equal(sessions.get(visits[0]!.id), undefined, "the oldest visits go first")
    assert.equal(sessions.get(visits.at(-1)!.id), visits.at(-1))
  })

  it("hands a flash out once, and forgets a deleted session", () => {
    const { sessions } = make()
    const session = sessions.create(undefined, { notice: "hello" })
    assert.deepEqual(sessions.takeFlash(session), { notice: "hello" })
    assert.equal(sessions.takeFlash(session), undefined)
    sessions.delete(session.id)
    assert.equal(sessions.get(session.id), undefined)
  })
})
