// The origin's deterministic body pattern (byte i = i % 251), recomputed independently so a
// broken origin or proxy cannot agree with itself by accident.
import { createHash } from 'node:crypto';

const PERIOD = 251;
const BLOCK = Buffer.alloc(PERIOD * 4096);
for (let i = 0; i < BLOCK.length; i++) BLOCK[i] = i % PERIOD;

// Pattern bytes [0, n) as a sequence of slices (no copies); offsets align with BLOCK's period.
export function* patternChunks(n, size = BLOCK.length) {
  const step = Math.min(BLOCK.length, Math.max(PERIOD, size - (size % PERIOD)));
  for (let offset = 0; offset < n; offset += step) {
    yield BLOCK.subarray(0, Math.min(step, n - offset));
  }
}

export function patternBytes(n) {
  return Buffer.concat([...patternChunks(n)]);
}

const hashes = new Map();
export function patternSha256(n) {
  if (!hashes.has(n)) {
    const hash = createHash('sha256');
    for (const chunk of patternChunks(n)) hash.update(chunk);
    hashes.set(n, hash.digest('hex'));
  }
  return hashes.get(n);
}

export const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
