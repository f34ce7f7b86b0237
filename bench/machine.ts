import { readFileSync } from "node:fs"
import { cpus, totalmem } from "node:os"

const sysfs = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8").trim()
  } catch {
    return undefined
  }
}

/**
 * The machine a run measured, with how its idle CPUs wait (Linux). On a virtual machine whose
 * guest halt polling is off (`guestHaltPollNs` 0), an idle vCPU halts at once and waking it
 * goes through the host: every hop that wakes a sleeping process pays for that, so the
 * latency a forwarder adds at concurrency 1 depends on this setting as much as on its code.
 */
export const machineInfo = () => {
  const pollNs = sysfs("/sys/module/haltpoll/parameters/guest_halt_poll_ns")
  return {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    cpuIdle: {
      driver: sysfs("/sys/devices/system/cpu/cpuidle/current_driver"),
      guestHaltPollNs: pollNs === undefined ? undefined : Number(pollNs)
    }
  }
}

/** One line for the report. */
export const describeMachine = (machine: ReturnType<typeof machineInfo>): string => {
  const { driver, guestHaltPollNs } = machine.cpuIdle
  const idle = driver === undefined ? "" : `; cpuidle ${driver}${guestHaltPollNs === undefined ? "" : `, guest halt polling ${guestHaltPollNs} ns`}`
  return `${machine.cpus} CPUs (${machine.cpu ?? "unknown"}), ${machine.memoryGiB} GiB${idle}`
}
