// Child processes started by tests. Every child is also killed when the test process exits,
// so a crashed or timed-out test never leaves a proxy or origin behind.
import { spawn } from 'node:child_process';

const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function spawnTracked(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  running.add(child);
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      running.delete(child);
      resolve({ code: null, signal: null, error: err });
    });
  });
  return child;
}

// ThreadSanitizer reports go to stderr and do not stop the process (the proxy only exits
// with TSan's exitcode later, and many tests never look at that), so every report a child
// prints is kept here and fails the test file when it exits.
const sanitizerReports = [];
process.on('exit', () => {
  if (sanitizerReports.length === 0) return;
  for (const report of sanitizerReports) process.stderr.write(`${report}\n`);
  process.stderr.write(`ThreadSanitizer reports from ${sanitizerReports.length} process(es)\n`);
  process.exitCode = 1;
});

// Watches `child`'s stderr for ThreadSanitizer reports (kept whole, up to 64 KiB each).
export function watchSanitizerReports(child, label) {
  const marker = 'WARNING: ThreadSanitizer';
  let tail = '';
  let report = null;
  child.stderr.on('data', (chunk) => {
    const text = tail + chunk.toString();
    if (report === null) {
      const at = text.indexOf(marker);
      tail = at < 0 ? text.slice(-marker.length) : '';
      if (at >= 0) report = sanitizerReports.push(`== ${label}:\n${text.slice(at)}`) - 1;
    } else if (sanitizerReports[report].length < 65536) {
      sanitizerReports[report] += chunk.toString();
    }
  });
}

// Keeps the text a stream produced (bounded, newest kept) and lets callers wait for a pattern.
export function collectText(stream, limit = 1 << 20) {
  let text = '';
  const waiters = new Set();
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    text += chunk;
    if (text.length > limit) text = text.slice(text.length - limit);
    for (const w of waiters) w();
  });
  return {
    get text() { return text; },
    // Resolves with the match once `re` matches, or null when the stream ends first.
    match(re) {
      return new Promise((resolve) => {
        const check = () => {
          const m = text.match(re);
          if (m) {
            waiters.delete(check);
            resolve(m);
          }
        };
        const onEnd = () => { if (!text.match(re)) resolve(null); };
        waiters.add(check);
        stream.once('end', onEnd);
        check();
      });
    },
  };
}

// Signals a child and waits for it to exit; escalates to SIGKILL after `timeoutMs`.
export async function stopChild(child, signal = 'SIGTERM', timeoutMs = 10000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  child.kill(signal);
  let timer;
  const killed = new Promise((resolve) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(child.exited.then((r) => ({ ...r, forced: true })));
    }, timeoutMs);
  });
  return Promise.race([child.exited, killed]).finally(() => clearTimeout(timer));
}
