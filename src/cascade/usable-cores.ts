/**
 * The cores this process may compute on: the CPUs it may run on, capped by its CPU quota. Node reads the first
 * (`os.availableParallelism`) but not the second, so a container limited to 2 CPUs on a 32-core host would
 * start 32 encoder threads that share 2 cores' worth of time. The quota is the cgroup's: `cpu.max` (cgroup v2,
 * the tightest of the process's group and its ancestors) or `cpu.cfs_quota_us` ÷ `cpu.cfs_period_us` (v1),
 * found where /proc/self/mountinfo says the hierarchy is mounted, as the JVM and Go's automaxprocs do.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where the cores came from, for the log line that says how many threads a model uses. */
export interface UsableCores {
  cores: number;
  /** CPUs the process may run on (its affinity). */
  cpus: number;
  /** The CPU quota in cores (e.g. 1.5), when one is set. */
  quota?: number;
}

/** The files the answer is read from; a test hands in its own. */
export interface CgroupFiles {
  /** The text of /proc/self/cgroup. */
  cgroup: string;
  /** The text of /proc/self/mountinfo. */
  mountinfo: string;
  /** A file's text, or undefined when it cannot be read. */
  read: (file: string) => string | undefined;
}

export function usableCores(files: CgroupFiles | undefined = procFiles(), cpus = os.availableParallelism()): UsableCores {
  const quota = files ? cpuQuota(files) : undefined;
  if (quota === undefined) return { cores: Math.max(1, cpus), cpus };
  return { cores: Math.max(1, Math.min(cpus, Math.ceil(quota))), cpus, quota };
}

/** The process's CPU quota in cores, or undefined when none is set (or no cgroup is mounted where it says). */
export function cpuQuota(files: CgroupFiles): number | undefined {
  const groups = parseCgroup(files.cgroup);
  let tightest: number | undefined;
  const take = (q: number | undefined): void => {
    if (q !== undefined && q > 0 && (tightest === undefined || q < tightest)) tightest = q;
  };
  for (const mount of parseMounts(files.mountinfo)) {
    const group = mount.v2 ? groups.get('') : [...groups.entries()].find(([controllers]) => controllers.split(',').includes('cpu'))?.[1];
    const dir = group === undefined ? undefined : groupDir(mount, group);
    if (dir === undefined) continue;
    if (mount.v2) {
      // A parent's limit binds its children too: walk up to the mount point.
      for (let d = dir; ; d = path.dirname(d)) {
        take(parseCpuMax(files.read(path.join(d, 'cpu.max'))));
        if (d === mount.point || !d.startsWith(mount.point)) break;
      }
    } else {
      const q = Number(files.read(path.join(dir, 'cpu.cfs_quota_us'))?.trim());
      const p = Number(files.read(path.join(dir, 'cpu.cfs_period_us'))?.trim());
      if (Number.isFinite(q) && q > 0 && Number.isFinite(p) && p > 0) take(q / p);
    }
  }
  return tightest;
}

interface CgroupMount {
  v2: boolean;
  /** The hierarchy's path mounted there (`/` unless the mount shows a subtree, as inside some containers). */
  root: string;
  point: string;
}

/** controllers ('' for v2, e.g. 'cpu,cpuacct' for v1) → the process's group path. */
function parseCgroup(text: string): Map<string, string> {
  const groups = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    // Named hierarchies (name=systemd) carry no controller; '' is v2's unified group.
    if (m && !m[1]!.startsWith('name=')) groups.set(m[1]!, m[2]!);
  }
  return groups;
}

/** The cgroup2 mounts and the v1 mounts that carry the cpu controller. */
function parseMounts(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const fields = before.split(' ');
    const [fstype, , superOptions = ''] = after.split(' ');
    const root = fields[3];
    const point = fields[4];
    if (!root || !point) continue;
    if (fstype === 'cgroup2') mounts.push({ v2: true, root: unescapeMount(root), point: unescapeMount(point) });
    else if (fstype === 'cgroup' && superOptions.split(',').includes('cpu')) mounts.push({ v2: false, root: unescapeMount(root), point: unescapeMount(point) });
  }
  return mounts;
}

/** The directory of `group` under `mount`, or undefined when the mount does not show it. */
function groupDir(mount: CgroupMount, group: string): string | undefined {
  if (mount.root === '/') return path.join(mount.point, group);
  if (group === mount.root) return mount.point;
  if (group.startsWith(`${mount.root}/`)) return path.join(mount.point, group.slice(mount.root.length));
  // A container sees its own group as the mount's root while /proc/self/cgroup may still name the host's path.
  return mount.point;
}

/** `cpu.max` is "<quota> <period>" in µs, "max <period>" when unlimited. */
function parseCpuMax(text: string | undefined): number | undefined {
  const [quota, period] = (text ?? '').trim().split(/\s+/);
  const q = Number(quota);
  const p = Number(period);
  return quota !== 'max' && Number.isFinite(q) && q > 0 && Number.isFinite(p) && p > 0 ? q / p : undefined;
}

/** mountinfo escapes spaces and a few other bytes as octal (`\040`). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function procFiles(): CgroupFiles | undefined {
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  };
  const cgroup = read('/proc/self/cgroup');
  const mountinfo = read('/proc/self/mountinfo');
  return cgroup === undefined || mountinfo === undefined ? undefined : { cgroup, mountinfo, read };
}
