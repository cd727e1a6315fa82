import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV_SECTIONS, LIVE_CREDENTIALS } from '../../src/config';
import { SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes';
import { COMPOSE_CHECK_BIN } from '../../src/tools/compose-check';

/**
 * docker-compose.yml, loaded by compose-go (the loader Docker Compose uses; tools/compose-check, built by
 * `src/tools/setup.ts --tests`), and checked against the config schema (docs/deploy.md, "The container image and
 * the compose file").
 */

const root = path.join(__dirname, '..', '..');
const COMPOSE_FILE = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');

/** Read at run time, so variables other branches add to the schema line up after a merge. */
const SCHEMA_VARIABLES = new Set(ENV_SECTIONS.flatMap((s) => Object.keys(s.variables.shape)));
/** The compose file's own variables (docs/deploy.md): in .env, so they reach the app containers through env_file. */
const COMPOSE_ONLY = ['POSTGRES_PASSWORD', 'LEDGER_DB_PASSWORD', 'STARTER_PORT', 'UI_PORT'];
/** Compose refuses to start without each of these (`${VAR:?}`). */
const REQUIRED_SECRETS = [
  'WEBHOOK_SECRET',
  'ADMIN_TOKEN',
  'CLAY_CALLBACK_SECRET',
  'METRICS_TOKEN',
  'PII_HASH_KEY',
  'PAYLOAD_CODEC_KEYS',
  'POSTGRES_PASSWORD',
  'LEDGER_DB_PASSWORD',
];
/** What live mode needs in the app's environment (src/config/index.ts). */
const LIVE_REQUIRED = [
  ...Object.values(LIVE_CREDENTIALS).flat(),
  ...[
    'WEBHOOK_SECRET',
    'ADMIN_TOKEN',
    'CLAY_CALLBACK_SECRET',
    'METRICS_TOKEN',
    'PII_HASH_KEY',
    'PAYLOAD_CODEC_KEYS',
  ].filter((v) => SCHEMA_VARIABLES.has(v)),
];
const APP_SERVICES = ['worker', 'starter'];

/** An operator's .env: every schema variable (HOST as .env.example has it), the compose-only ones, ENRICHMENT_MODE. */
const FULL_ENV: Record<string, string> = {
  ...Object.fromEntries([...SCHEMA_VARIABLES].map((name) => [name, `test-${name.toLowerCase().replace(/_/g, '-')}`])),
  ...Object.fromEntries(COMPOSE_ONLY.map((name) => [name, `test-${name.toLowerCase().replace(/_/g, '-')}`])),
  STARTER_PORT: '8443',
  UI_PORT: '8088',
  ENRICHMENT_MODE: 'live',
  HOST: '127.0.0.1',
  TEMPORAL_ADDRESS: '127.0.0.1:7233',
};

interface Port {
  target: number;
  published?: string;
  host_ip?: string;
}
interface Service {
  profiles?: string[];
  container_name?: string;
  ports?: Port[];
  environment?: Record<string, string | null>;
  env_file?: { path: string }[];
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  healthcheck?: { test?: string[]; disable?: boolean };
}
interface Project {
  services: Record<string, Service>;
}

type Loaded = { ok: true; project: Project } | { ok: false; error: string };

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Loads `compose` from a project directory of its own whose .env is `env`, with these profiles. */
function load(compose: string, env: Record<string, string>, profiles: string[] = [], declared = false): Loaded {
  if (!existsSync(COMPOSE_CHECK_BIN)) {
    throw new Error(`${COMPOSE_CHECK_BIN} is missing: run \`npx tsx src/tools/setup.ts --tests\` (needs Go)`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'signup-compose-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'docker-compose.yml'), compose);
  writeFileSync(
    path.join(dir, '.env'),
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );
  const args = ['-f', path.join(dir, 'docker-compose.yml'), ...profiles.flatMap((p) => ['--profile', p])];
  const run = spawnSync(COMPOSE_CHECK_BIN, declared ? [...args, '--declared-environment'] : args, {
    encoding: 'utf8',
  });
  if (run.status !== 0) return { ok: false, error: run.stderr.trim() || String(run.error) };
  return { ok: true, project: JSON.parse(run.stdout) as Project };
}

function loadOrThrow(compose: string, env: Record<string, string>, profiles: string[] = [], declared = false) {
  const loaded = load(compose, env, profiles, declared);
  if (!loaded.ok) throw new Error(`compose-go refused the file: ${loaded.error}`);
  return loaded.project;
}

/** Every rule of docs/deploy.md the compose file must keep; an empty list means it keeps them all. */
function problems(compose: string, env: Record<string, string> = FULL_ENV): string[] {
  const found: string[] = [];
  const byProfile = new Map<string, Project>();
  for (const profiles of [[], ['sandbox'], ['ui'], ['sandbox', 'ui']]) {
    const loaded = load(compose, env, profiles);
    if (!loaded.ok) return [`does not load with profiles [${profiles.join(', ')}]: ${loaded.error}`];
    byProfile.set(profiles.join('+'), loaded.project);
  }
  const plain = byProfile.get('')!;
  const all = byProfile.get('sandbox+ui')!;

  for (const name of ['postgres', 'temporal', 'worker', 'starter']) {
    if (!plain.services[name]) found.push(`${name} is not a default service`);
  }
  for (const [name, service] of Object.entries(plain.services)) {
    if ((service.ports ?? []).length > 0 && name !== 'starter') found.push(`${name} publishes a port by default`);
    if (!service.restart) found.push(`${name} has no restart policy`);
  }
  for (const [name, service] of Object.entries(all.services)) {
    for (const port of service.ports ?? []) {
      if (port.target === 7233 || port.published === '7233') found.push(`${name} publishes Temporal's gRPC port`);
      if (name !== 'starter' && port.host_ip !== '127.0.0.1') found.push(`${name} publishes beyond 127.0.0.1`);
    }
    for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
      if (condition === 'service_started') found.push(`${name} waits for ${dependency} without a condition`);
    }
  }
  if (plain.services['temporal-ui']) found.push('the Web UI runs by default');
  if (!all.services['temporal-ui']?.profiles?.includes('ui')) found.push('the Web UI is not under the `ui` profile');
  if (plain.services.sandbox) found.push('the sandbox runs by default');
  if (!byProfile.get('sandbox')?.services.sandbox) found.push('the sandbox is not under the `sandbox` profile');
  const starter = plain.services.starter;
  if (starter?.ports?.length !== 1 || starter.ports[0]?.target !== 3000)
    found.push('the starter does not publish 3000');

  const worker = plain.services.worker;
  if (worker?.container_name) found.push('the worker has a container_name (it cannot scale)');
  if ((worker?.ports ?? []).length > 0) found.push('the worker publishes a port (it cannot scale)');
  for (const [name, service] of Object.entries(all.services)) {
    const oneShot = service.restart?.startsWith('on-failure');
    if (!oneShot && !service.healthcheck?.test && !(name === 'worker' && service.healthcheck?.disable)) {
      found.push(`${name} has no healthcheck`);
    }
  }

  const declared = load(compose, env, [], true);
  for (const name of APP_SERVICES) {
    const service = plain.services[name];
    if (!service) continue;
    if (!service.env_file?.some((f) => path.basename(f.path) === '.env')) found.push(`${name} does not read .env`);
    const environment = service.environment ?? {};
    for (const variable of Object.keys(environment)) {
      if (!SCHEMA_VARIABLES.has(variable) && !COMPOSE_ONLY.includes(variable)) {
        found.push(`${name} gets ${variable}, which the config schema does not know`);
      }
    }
    if (declared.ok) {
      for (const variable of Object.keys(declared.project.services[name]?.environment ?? {})) {
        if (!SCHEMA_VARIABLES.has(variable))
          found.push(`${name} is passed ${variable}, which the config schema does not know`);
      }
    }
    for (const variable of LIVE_REQUIRED) {
      if (!environment[variable]) found.push(`${name} does not get ${variable}`);
      else if (env[variable] && environment[variable] !== env[variable]) {
        found.push(`${name} gets ${variable} from elsewhere than .env`);
      }
    }
  }

  const values = REQUIRED_SECRETS.map((s) => env[s]).filter((v): v is string => v !== undefined);
  for (const secret of REQUIRED_SECRETS) {
    const { [secret]: _omitted, ...without } = env;
    const loaded = load(compose, without, ['sandbox', 'ui']);
    if (loaded.ok) found.push(`loads without ${secret} (a default, or not required)`);
    else {
      if (!loaded.error.includes(secret)) found.push(`the error without ${secret} does not name it`);
      if (values.some((v) => loaded.error.includes(v))) found.push(`the error without ${secret} shows a secret`);
    }
  }
  return found;
}

/** docker-compose.yml with `from` replaced by `to` (which must occur). */
function mutated(from: string, to: string): string {
  expect(COMPOSE_FILE, `docker-compose.yml contains ${JSON.stringify(from)}`).toContain(from);
  return COMPOSE_FILE.replace(from, to);
}

describe('docker-compose.yml (compose-go)', () => {
  it('keeps every rule of docs/deploy.md', () => {
    expect(problems(COMPOSE_FILE)).toEqual([]);
  });

  it('runs the setup jobs before the server and the apps, and passes the live credentials from .env', () => {
    const { services } = loadOrThrow(COMPOSE_FILE, FULL_ENV);
    expect(services.temporal?.depends_on?.['temporal-schema']?.condition).toBe('service_completed_successfully');
    expect(services.worker?.depends_on?.['temporal-namespace']?.condition).toBe('service_completed_successfully');
    expect(services.worker?.environment?.CLEARBIT_API_KEY).toBe(FULL_ENV.CLEARBIT_API_KEY);
    // The compose values win over what a copied .env.example says.
    expect(services.starter?.environment?.HOST).toBe('0.0.0.0');
    expect(services.worker?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(services.starter?.ports?.[0]?.published).toBe(FULL_ENV.STARTER_PORT);
    expect(services.worker?.environment?.DATABASE_URL).toBe(
      `postgres://ledger:${FULL_ENV.LEDGER_DB_PASSWORD}@postgres:5432/ledger`,
    );
  });

  it('refuses to load without .env', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'signup-compose-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'docker-compose.yml'), COMPOSE_FILE);
    const run = spawnSync(COMPOSE_CHECK_BIN, ['-f', path.join(dir, 'docker-compose.yml')], { encoding: 'utf8' });
    expect(run.status).toBe(1);
  });

  it('registers the search attributes src/domain/search-attributes.ts defines', () => {
    const script = readFileSync(path.join(root, 'docker', 'temporal-setup.sh'), 'utf8');
    const type = { KEYWORD: 'Keyword', INT: 'Int', DATETIME: 'Datetime' } as const;
    const listed = script
      .match(/for attribute in ([^;]+);/)?.[1]
      ?.trim()
      .split(/\s+/);
    expect(listed).toEqual(SEARCH_ATTRIBUTES.map((k) => `${k.name}=${type[k.type]}`));
  });

  describe('catches a broken copy', () => {
    const cases: [string, string, string][] = [
      ['a YAML syntax error', mutated('services:\n', 'services:\n  - [\n'), 'does not load'],
      [
        "Temporal's gRPC port published",
        mutated('      BIND_ON_IP: 0.0.0.0\n', "      BIND_ON_IP: 0.0.0.0\n    ports: ['7233:7233']\n"),
        "temporal publishes Temporal's gRPC port",
      ],
      [
        'the Web UI on every interface',
        mutated("'127.0.0.1:${UI_PORT:-8080}:8080'", "'${UI_PORT:-8080}:8080'"),
        'temporal-ui publishes beyond 127.0.0.1',
      ],
      ['the Web UI by default', mutated('    profiles: [ui]\n', ''), 'the Web UI runs by default'],
      ['the sandbox by default', mutated('    profiles: [sandbox]\n', ''), 'the sandbox runs by default'],
      [
        'an unknown variable passed to the worker',
        mutated(
          '      <<: *app-environment\n      # Prometheus',
          "      <<: *app-environment\n      WORKER_FLAG: 'on'\n      # Prometheus",
        ),
        'worker is passed WORKER_FLAG',
      ],
      [
        'a default for a required secret',
        COMPOSE_FILE.replaceAll('${WEBHOOK_SECRET:?', '${WEBHOOK_SECRET:-'),
        'loads without WEBHOOK_SECRET',
      ],
      [
        'a fixed worker container name',
        mutated(
          "    command: ['node', 'dist/src/worker.js']\n",
          "    command: ['node', 'dist/src/worker.js']\n    container_name: worker\n",
        ),
        'the worker has a container_name',
      ],
      [
        'a live credential overridden',
        mutated('  TEMPORAL_ADDRESS: temporal:7233\n', '  TEMPORAL_ADDRESS: temporal:7233\n  VITALLY_API_KEY: ""\n'),
        'does not get VITALLY_API_KEY',
      ],
    ];
    it.each(cases)('%s', (_name, compose, problem) => {
      expect(problems(compose).join('\n')).toContain(problem);
    });

    it('a missing required secret in .env', () => {
      const { METRICS_TOKEN: _unset, ...env } = FULL_ENV;
      expect(problems(COMPOSE_FILE, env).join('\n')).toMatch(/does not load.*METRICS_TOKEN/);
    });
  });
});
