#!/usr/bin/env node
// relguard ships as TypeScript: tsx (a dependency) compiles the CLI as it loads, so there is
// no build to forget.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
