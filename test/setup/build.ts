// Builds dist/ once before the tests that run the real cx-ops command.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['core/bin/build.js'], { stdio: 'inherit' });
}
