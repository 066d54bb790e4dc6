/** belay's agents are POSIX sh (dash parses them) and their meta-data is valid against ra-api-1.dtd. */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { requireCommands } from '../../src/lab/netns.js';
import { BELAY_OCF_ROOT } from '../../src/executor/resolve.js';

const AGENTS = ['FloatIP', 'haproxy', 'nginx', 'Dummy'];
const agentPath = (name: string) => join(BELAY_OCF_ROOT, 'resource.d', 'belay', name);
const FILES = [...AGENTS.map(agentPath), join(BELAY_OCF_ROOT, 'lib', 'belay', 'belay-shellfuncs')];
const DTD = '/usr/share/resource-agents/ra-api-1.dtd';

describe('agents are POSIX sh', () => {
  it.each(FILES)('%s parses with sh -n and dash -n', (file) => {
    requireCommands('agent syntax check', { dash: 'dash' });
    for (const sh of ['sh', 'dash']) {
      const r = spawnSync(sh, ['-n', file], { encoding: 'utf8' });
      expect(r.status, `${sh}: ${r.stderr}`).toBe(0);
    }
  });

  it.each(AGENTS)('%s is executable by everyone and answers usage and unknown actions', (name) => {
    expect(statSync(agentPath(name)).mode & 0o755).toBe(0o755);
    const usage = spawnSync(agentPath(name), ['usage'], { encoding: 'utf8' });
    expect(usage.status).toBe(0);
    expect(usage.stdout).toMatch(/usage:/);
    const bad = spawnSync(agentPath(name), ['frobnicate'], { encoding: 'utf8' });
    expect(bad.status).toBe(3); // OCF_ERR_UNIMPLEMENTED
  });

  it.each(AGENTS)('%s meta-data is valid against ra-api-1.dtd', (name) => {
    requireCommands('meta-data validation', { xmllint: 'libxml2-utils' });
    const xml = execFileSync(agentPath(name), ['meta-data'], { encoding: 'utf8' });
    const r = spawnSync('xmllint', ['--noout', '--dtdvalid', DTD, '-'], { input: xml, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it.each(AGENTS)('%s prints meta-data without its helper library (any OCF root)', (name) => {
    // Copied alone elsewhere, meta-data must still work; other actions say "not installed".
    const r = spawnSync('sh', ['-c', 'd=$(mktemp -d) && cp "$1" "$d/a" && "$d/a" meta-data >/dev/null; m=$?; "$d/a" monitor; s=$?; rm -rf "$d"; echo "$m $s"', 'sh', agentPath(name)], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, OCF_ROOT: '/nonexistent' },
    });
    expect(r.stdout.trim()).toBe('0 5');
  });
});
