// The deterministic body pattern of the byte endpoints: byte i of a body is i % 251.
// 251 is prime, so a misplaced or repeated block of any power-of-two size changes the hash.

export const MAX_CHUNK = 1 << 20;
const PERIOD = 251;
const BASE = Buffer.alloc(PERIOD + MAX_CHUNK);
for (let i = 0; i < BASE.length; i++) BASE[i] = i % PERIOD;

// Bytes [offset, offset + length) of the pattern, without copying; length <= MAX_CHUNK.
export function patternSlice(offset, length) {
  const start = offset % PERIOD;
  return BASE.subarray(start, start + length);
}
