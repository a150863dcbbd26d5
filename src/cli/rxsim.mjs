#!/usr/bin/env node
// The `rxsim` command: runs the TypeScript sources directly through tsx, so a fresh clone works
// right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
