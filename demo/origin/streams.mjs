// Writing the byte pattern with backpressure: nothing larger than one chunk is ever queued,
// so a 100 MB body never sits in origin memory.
import { drained } from './respond.mjs';
import { patternSlice, MAX_CHUNK } from './pattern.mjs';

// Tracks 'close' so loops stop once the peer is gone ('drain' would never come).
export function closeFlag(stream) {
  const flag = { closed: stream.destroyed === true };
  stream.once('close', () => { flag.closed = true; });
  return flag;
}

// Writes pattern bytes [start, start + total) in `chunk`-sized writes. Resolves true once the
// last byte has been handed to the kernel, false if the stream closed first.
export async function writePattern(stream, total, chunk = 65536, start = 0) {
  const gone = closeFlag(stream);
  const size = Math.max(1, Math.min(chunk, MAX_CHUNK));
  const end = start + total;
  let offset = start;
  while (offset < end) {
    if (gone.closed) return false;
    const n = Math.min(size, end - offset);
    const slice = patternSlice(offset, n);
    offset += n;
    if (offset === end) {
      // The callback of the last write means every earlier write was flushed too.
      return new Promise((resolve) => stream.write(slice, (err) => resolve(!err && !gone.closed)));
    }
    if (!stream.write(slice)) await drained(stream);
  }
  return !gone.closed;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
