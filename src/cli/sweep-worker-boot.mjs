// The sweep's worker thread when rxsim runs from its TypeScript sources (through tsx): a worker
// does not inherit the main thread's tsx hooks, so it registers them itself first. The compiled
// build starts build/cli/sweep-worker.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./sweep-worker.ts');
