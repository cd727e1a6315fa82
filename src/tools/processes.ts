import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Whether a process exists (one of another user's counts: EPERM). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's arguments, or undefined when it is gone or cannot be read. */
export function commandLine(pid: number): string[] | undefined {
  try {
    if (process.platform === 'linux') {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    }
    return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' })
      .trim()
      .split(/\s+/);
  } catch {
    return undefined;
  }
}

/** A process's parent, or undefined when it is gone or cannot be read. */
export function parentPid(pid: number): number | undefined {
  try {
    if (process.platform === 'linux') {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    }
    const ppid = Number(execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
    return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Calls `onGone` once when a process that launched this one is gone: the parent (the tsx CLI, or the shell of an npm
 * script) and, under an npm script, npm itself. Killed outright (SIGKILL), a launcher cannot pass anything on, and
 * this process would go on running, adopted by another, with no terminal to stop it from.
 */
export function whenLauncherGone(onGone: (pid: number) => void, intervalMs = 1000): void {
  const launchers = [process.ppid];
  const grandparent = process.env.npm_lifecycle_event ? parentPid(process.ppid) : undefined;
  if (grandparent !== undefined && grandparent > 1) launchers.push(grandparent);
  const timer = setInterval(() => {
    const gone = process.ppid !== launchers[0] ? launchers[0] : launchers.find((pid) => !isAlive(pid));
    if (gone === undefined) return;
    clearInterval(timer);
    onGone(gone);
  }, intervalMs);
  timer.unref();
}
