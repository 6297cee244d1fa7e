/**
 * The cores a model may compute on: the CPUs the process may run on, capped by a container's CPU quota, read
 * from cgroup trees laid out as the kernel mounts them (v2, v1, a container that sees its group as the root).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cpuQuota, usableCores, type CgroupFiles } from '../../src/cascade/usable-cores.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A cgroup tree under a temporary folder: `files` maps a path under it to its text. */
function tree(cgroup: string, mounts: string[], files: Record<string, string>): CgroupFiles {
  const root = mkdtempSync(join(tmpdir(), 'spillway-cgroup-'));
  roots.push(root);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  const mountinfo = mounts.map((m, i) => `${30 + i} 22 0:${27 + i} ${m.replace('<root>', root)}`).join('\n');
  return {
    cgroup,
    mountinfo,
    read: (file) => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}

describe('the cores a process may use', () => {
  it('caps the CPUs by a cgroup v2 quota, rounded up to whole cores', () => {
    const files = tree('0::/app.slice/worker.service\n', ['/ <root>/sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate'], {
      'sys/fs/cgroup/app.slice/worker.service/cpu.max': '150000 100000\n',
    });
    expect(cpuQuota(files)).toBe(1.5);
    expect(usableCores(files, 32)).toEqual({ cores: 2, cpus: 32, quota: 1.5 });
  });

  it('takes the tightest limit of the group and its ancestors (a parent slice binds its children)', () => {
    const files = tree('0::/app.slice/worker.service\n', ['/ <root>/sys/fs/cgroup rw - cgroup2 cgroup2 rw'], {
      'sys/fs/cgroup/app.slice/cpu.max': '300000 100000\n',
      'sys/fs/cgroup/app.slice/worker.service/cpu.max': 'max 100000\n',
    });
    expect(usableCores(files, 16).cores).toBe(3);
  });

  it('reads a cgroup v1 cpu quota where the cpu controller is mounted, beside named and other hierarchies', () => {
    const files = tree(
      '9:name=systemd:/\n4:memory:/docker/abc\n1:cpu,cpuacct:/docker/abc\n0::/\n',
      [
        '/ <root>/sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
        '/ <root>/sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
        '/ <root>/sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
      ],
      {
        'sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '200000\n',
        'sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
      },
    );
    expect(usableCores(files, 8)).toEqual({ cores: 2, cpus: 8, quota: 2 });
  });

  it('reads the quota of a container that sees its own group as the mount root', () => {
    const files = tree('0::/kubepods/pod1/ctr\n', ['/kubepods/pod1/ctr <root>/sys/fs/cgroup ro - cgroup2 cgroup2 rw'], {
      'sys/fs/cgroup/cpu.max': '50000 100000\n',
    });
    expect(usableCores(files, 4)).toEqual({ cores: 1, cpus: 4, quota: 0.5 });
  });

  it('keeps every CPU when no quota is set (v1 quota -1, v2 max) or no cgroup is mounted', () => {
    const v1 = tree('1:cpu:/\n', ['/ <root>/sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu'], {
      'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
      'sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    });
    const v2 = tree('0::/\n', ['/ <root>/sys/fs/cgroup rw - cgroup2 cgroup2 rw'], { 'sys/fs/cgroup/cpu.max': 'max 100000\n' });
    const none = tree('0::/\n', ['/ <root>/ rw - ext4 /dev/sda1 rw'], {});
    for (const files of [v1, v2, none]) expect(usableCores(files, 6)).toEqual({ cores: 6, cpus: 6 });
    expect(usableCores(undefined, 6).cores).toBe(6);
  });

  it('never says fewer than one core, and never more than the CPUs it may run on', () => {
    const tiny = tree('0::/\n', ['/ <root>/sys/fs/cgroup rw - cgroup2 cgroup2 rw'], { 'sys/fs/cgroup/cpu.max': '1000 100000\n' });
    expect(usableCores(tiny, 4).cores).toBe(1);
    const wide = tree('0::/\n', ['/ <root>/sys/fs/cgroup rw - cgroup2 cgroup2 rw'], { 'sys/fs/cgroup/cpu.max': '6400000 100000\n' });
    expect(usableCores(wide, 2).cores).toBe(2);
  });

  it('reads this machine without failing, and never exceeds its CPUs', () => {
    const here = usableCores();
    expect(here.cores).toBeGreaterThanOrEqual(1);
    expect(here.cores).toBeLessThanOrEqual(here.cpus);
  });
});
