// tsc emits only JavaScript; migrations are plain .sql files read at run time, so copy them beside it.
import { cpSync } from 'node:fs';

cpSync('src', 'dist', { recursive: true, filter: (src) => !src.includes('.') || src.endsWith('.sql') });
