// Resident memory of a process, sampled while a test pushes data through it.
import fs from 'node:fs';

export function rssKb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

// Samples every `intervalMs` until stop(); stop() returns {baselineKb, maxKb, increaseKb}.
export function sampleRss(pid, intervalMs = 50) {
  const baselineKb = rssKb(pid);
  let maxKb = baselineKb;
  let samples = 1;
  const timer = setInterval(() => {
    try {
      maxKb = Math.max(maxKb, rssKb(pid));
      samples++;
    } catch {
      // The process exited; the test will notice on its own.
    }
  }, intervalMs);
  return {
    get maxKb() { return maxKb; },
    stop() {
      clearInterval(timer);
      try {
        maxKb = Math.max(maxKb, rssKb(pid));
      } catch { /* exited */ }
      return { baselineKb, maxKb, increaseKb: maxKb - baselineKb, samples };
    },
  };
}
