/**
 * checks-system: the host checks that read /proc, /sys and statfs (disk_space, memory,
 * swap_usage, cpu_load, zombie_processes, file_descriptors), plus time_sync and systemd_failed,
 * and their fixes. Thresholds come from their sub-sections of `checks:` in config.yaml (checks.disk_space, …).
 */
import { definePlugin } from 'cx-ops/sdk';
import { cpuLoadCheck } from './cpu-load.js';
import { diskCleanupFix } from './disk-cleanup.js';
import { diskSpaceCheck } from './disk-space.js';
import { fileDescriptorsCheck } from './file-descriptors.js';
import { memoryCheck, swapCheck } from './memory.js';
import { restartFailedUnitsFix, systemdFailedCheck } from './systemd-failed.js';
import { timeSyncCheck, timeSyncFix } from './time-sync.js';
import { zombieCheck, zombieFix } from './zombies.js';

export default definePlugin({
  name: 'checks-system',
  contributes: [
    diskSpaceCheck,
    memoryCheck,
    swapCheck,
    cpuLoadCheck,
    zombieCheck,
    fileDescriptorsCheck,
    timeSyncCheck,
    systemdFailedCheck,
    diskCleanupFix,
    zombieFix,
    timeSyncFix,
    restartFailedUnitsFix,
  ],
});
