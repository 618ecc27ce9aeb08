// The TCP ports a process is listening on, read from /proc (Linux only).
import fs from 'node:fs';

function socketInodes(pid) {
  const inodes = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = fs.readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
      if (m) inodes.add(m[1]);
    } catch {
      // The descriptor closed while we were looking.
    }
  }
  return inodes;
}

// One entry per listening socket: {port}. Several entries on one port mean SO_REUSEPORT.
export function listeningSockets(pid) {
  const inodes = socketInodes(pid);
  const found = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.trim().split('\n').slice(1)) {
      const cols = row.trim().split(/\s+/);
      const [, local, , state] = cols;
      if (state === '0A' && inodes.has(cols[9])) {
        found.push({ port: parseInt(local.split(':')[1], 16) });
      }
    }
  }
  return found;
}
