// Only for running from TypeScript sources (tests, tsx): Node's --import flag does not reach
// worker threads, so this plain-JS entry registers tsx and then loads the real thread.
import { register } from 'tsx/esm/api';

register();
await import('./pipeline-thread.ts');
