/**
 * What a node's JSON log says about its rounds: completions and failures (with their
 * error code), keyed by session timestamp. The chaos bench reports these
 * next to each boundary that did not produce a version everywhere, so a figure comes
 * with its cause.
 */
export interface RoundLogEvent {
  readonly session: number;
  /** 'completed', or 'failed:<CODE>' for a failed round. */
  readonly outcome: string;
}

interface LogLine {
  readonly msg?: unknown;
  readonly session?: unknown;
  readonly err?: { readonly code?: unknown };
}

export function roundLogEvents(logText: string): RoundLogEvent[] {
  const events: RoundLogEvent[] = [];
  for (const raw of logText.split('\n')) {
    if (!raw.startsWith('{')) continue;
    let line: LogLine;
    try {
      line = JSON.parse(raw) as LogLine;
    } catch {
      continue; // a line cut by SIGKILL
    }
    if (typeof line.session !== 'number') continue;
    if (line.msg === 'round completed; new key version active') events.push({ session: line.session, outcome: 'completed' });
    else if (typeof line.msg === 'string' && line.msg.startsWith('round failed')) {
      events.push({ session: line.session, outcome: `failed:${typeof line.err?.code === 'string' ? line.err.code : 'UNKNOWN'}` });
    }
  }
  return events;
}
