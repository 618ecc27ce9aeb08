// Runs the curl command line client: {code, stdout (Buffer), stderr (string)}.
import { execFile } from 'node:child_process';

export function curl(args, { timeoutMs = 30000 } = {}) {
  return new Promise((resolve) => {
    execFile('curl', ['--silent', '--show-error', ...args],
      { encoding: 'buffer', timeout: timeoutMs, maxBuffer: 256 << 20 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr: stderr.toString('utf8') });
      });
  });
}
