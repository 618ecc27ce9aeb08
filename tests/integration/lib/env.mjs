// Where the binary under test and the repository live; overridable from ctest.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const SOURCE_DIR = process.env.EDGE_SOURCE_DIR ?? path.resolve(here, '..', '..', '..');
export const PROXY_BIN = process.env.EDGE_PROXY_BIN ?? path.join(SOURCE_DIR, 'build', 'edge-proxy');
export const ORIGIN_SCRIPT = path.join(SOURCE_DIR, 'demo', 'origin.mjs');
export const EXAMPLE_CONFIG = path.join(SOURCE_DIR, 'config', 'examples', 'edge.yaml');
