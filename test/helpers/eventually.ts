/** Retries `check` until it passes or `ms` run out: settles happen just after a response ends. */
export const eventually = async (check: () => Promise<void> | void, ms = 3_000): Promise<void> => {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }
}
