// Reconnect delays: exponential from `baseMs`, capped at `maxMs`, with jitter so that many
// browsers do not reconnect to a restarted server in lockstep.

export function backoffDelay(attempt: number, baseMs = 500, maxMs = 10_000, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}
