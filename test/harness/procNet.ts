import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Inodes of TCP sockets in LISTEN state (IPv4 and IPv6) in this network namespace. */
function listeningTcpInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols[3] is the state (0A = LISTEN), cols[9] the inode.
      if (cols[3] === '0A' && cols[9] !== undefined) inodes.add(cols[9]);
    }
  }
  return inodes;
}

/** How many TCP listening sockets the process holds open (Linux /proc). */
export function tcpListenerCount(pid: number): number {
  const listening = listeningTcpInodes();
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try { target = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match?.[1] !== undefined && listening.has(match[1])) count += 1;
  }
  return count;
}

/** Whether a process with this pid exists (zombies count as gone). */
export function processExists(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
