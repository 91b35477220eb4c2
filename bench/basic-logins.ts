// Basic logins, in process (the credential and its KDF pool; the transport is the other
// benches' subject): how many valid logins a second, alone and while one client floods bad
// logins, and what the flood does to JWT verification — with the process's KDF pool (at most
// one scrypt at a time, in turn per client) beside an unbounded one (what ext-authz did before:
// every attempt straight onto libuv's thread pool), run in turns.
//   fresh: a user's first login (one scrypt, N=2^15, r=8 as `hash-secret password` makes);
//   remembered: the same credentials again within a minute (no scrypt).
import { BasicCredential } from '../ext-authz/credentials/basic.js';
import { JwksRegistry } from '../ext-authz/credentials/jwks-cache.js';
import { JwtCredential } from '../ext-authz/credentials/jwt.js';
import { FairPool, DEFAULT_KDF_POOL } from '../ext-authz/credentials/fair-pool.js';
import { hashPassword } from '../ext-authz/credentials/secrets.js';
import { attributesOf } from '../ext-authz/request.js';
import { AUDIENCE, ISSUER, jwks, sign, testKey } from '../test/helpers/jwt-keys.js';
import { median } from './lib/grpc-load.js';
import { fmt, machineDescription, percentile } from './lib/stats.js';

const line = (s = ''): void => void process.stdout.write(`${s}\n`);
const USERS = 40;
const FLOOD = 2_000;

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const from = (source: string) => attributesOf('POST', '/v1/chat', {}, {}, 'bench', source);

line('Basic logins benchmark (in process)');
line(machineDescription({}));
line(`${USERS} users (scrypt N=2^15 r=8 p=1); the flood: ${FLOOD} bad logins at once from one client, distinct passwords; UV_THREADPOOL_SIZE ${process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)'}`);

const users = await Promise.all(Array.from({ length: USERS }, async (_, i) => ({ username: `user-${i}`, password: `pw-${i}-secret`, password_hash: await hashPassword(`pw-${i}-secret`), scopes: [] })));
const key = await testKey('bench');
const tokens = await Promise.all(Array.from({ length: 400 }, (_, i) => sign(key, { sub: `u${i}` })));

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  const value = await f();
  return { value, ms: performance.now() - t };
}

interface Figures {
  freshPerSecond: number;
  freshP99ms: number;
  rememberedPerSecond: number;
  jwtPerSecond: number;
  jwtP99ms: number;
  floodRefused: number;
}

async function measure(pool: FairPool, flood: boolean): Promise<Figures> {
  const basic = new BasicCredential({ realm: 'bench', users }, undefined, undefined, pool);
  const jwt = new JwtCredential(
    {
      issuer: ISSUER, audiences: [AUDIENCE], algorithms: ['RS256'], jwks: jwks(key) as never, leewaySeconds: 30, require_expiry: true,
      claims: { subject: 'sub', scopes: 'scope' }, required_claims: {}, required_scopes: [], max_token_bytes: 8192, jwksRefreshMs: 3e5, jwksMinRefetchMs: 1e4,
    },
    new JwksRegistry(),
  );
  let refused = 0;
  const floodDone = flood
    ? Promise.all(
        Array.from({ length: FLOOD }, (_, i) =>
          basic.verify(b64(`user-${i % USERS}:guess-${i}`), from('10.0.0.66')).then((v) => {
            if (!v.ok && v.reason.startsWith('too many')) refused += 1;
          }),
        ),
      )
    : Promise.resolve([]);
  // Fresh logins, each from its own client, and fresh JWTs, all at once.
  const [fresh, jwtRun] = await Promise.all([
    timed(() => Promise.all(users.map((u, i) => timed(() => basic.verify(b64(`${u.username}:${u.password}`), from(`10.0.1.${i}`)))))),
    timed(() => Promise.all(tokens.map((t) => timed(() => jwt.verify(t))))),
  ]);
  if (!fresh.value.every((r) => r.value.ok)) throw new Error('a valid login was refused');
  if (!jwtRun.value.every((r) => r.value.ok)) throw new Error('a valid token was refused');
  const remembered = await timed(async () => {
    for (let i = 0; i < 20_000; i++) await basic.verify(b64(`${users[i % USERS]!.username}:${users[i % USERS]!.password}`), from('10.0.2.1'));
  });
  await floodDone;
  return {
    freshPerSecond: (USERS / fresh.ms) * 1000,
    freshP99ms: percentile(fresh.value.map((r) => r.ms).sort((a, b) => a - b), 99),
    rememberedPerSecond: (20_000 / remembered.ms) * 1000,
    jwtPerSecond: (tokens.length / jwtRun.ms) * 1000,
    jwtP99ms: percentile(jwtRun.value.map((r) => r.ms).sort((a, b) => a - b), 99),
    floodRefused: refused,
  };
}

const unbounded = (): FairPool => new FairPool({ concurrency: 1_000_000, perKey: 1_000_000, maxQueued: 1_000_000 });
const results = new Map<string, Figures[]>();
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
for (let rep = 0; rep < REPS; rep++) {
  for (const [label, pool, flood] of [
    ['KDF pool, alone', () => new FairPool(DEFAULT_KDF_POOL), false],
    ['KDF pool, during the flood', () => new FairPool(DEFAULT_KDF_POOL), true],
    ['unbounded, alone', unbounded, false],
    ['unbounded, during the flood', unbounded, true],
  ] as const) {
    const list = results.get(label) ?? [];
    list.push(await measure(pool(), flood));
    results.set(label, list);
  }
}
line();
line(`medians of ${REPS} runs taken in turns`);
for (const [label, runs] of results) {
  const m = (k: keyof Figures) => median(runs.map((r) => r[k]));
  line(
    `${label.padEnd(28)} fresh logins ${fmt(m('freshPerSecond')).padStart(6)}/s (p99 ${fmt(m('freshP99ms')).padStart(6)} ms)  remembered ${String(Math.round(m('rememberedPerSecond'))).padStart(7)}/s  fresh JWTs ${String(Math.round(m('jwtPerSecond'))).padStart(5)}/s (p99 ${fmt(m('jwtP99ms')).padStart(6)} ms)${label.includes('flood') ? `  flood attempts refused without a hash ${Math.round(m('floodRefused'))}/${FLOOD}` : ''}`,
  );
}
