import path from 'node:path';

/** The repository root, wherever the process was started from. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
/** The project-local Python venv holding the Temporal binaries (README, "Quick start"). */
export const TOOLS_DIR = path.join(PROJECT_ROOT, '.tools');
