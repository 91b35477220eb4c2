// ratelimit-service against the reference envoyproxy/ratelimit, side by side: each on its own
// real Redis, both loaded with the same config set (the reference's README examples, its
// examples/ and test/config files, and YAML as yaml.v2 reads it), both sent the same request
// sequences — every configured descriptor path (nested, wildcard, key-only, unmatched), several
// descriptors at once (replaces), hits_addend per request and per descriptor, Envoy's overrides
// (WEEK included), shadow and quota modes, unknown and empty domains, empty descriptor lists,
// values that are not UTF-8 — and every field of every answer compared. The suite fails on any
// difference not on DOCUMENTED_DIFFERENCES.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../launcher/consul-agent.js';
import { freePorts } from '../../launcher/ports.js';
import { startRatelimit } from '../../launcher/ratelimit.js';
import { startReferenceRatelimit } from '../../launcher/ratelimit-reference.js';
import { startRedis, type RedisServer } from '../../launcher/redis.js';
import { sleep } from '../../launcher/wait.js';
import { parseRateLimitConfig, type DescriptorSpec } from '../../ratelimit-service/rules/schema.js';
import { encodeMessage, type JsonObject } from '../../shared/proto/codec.js';
import { describeRefusal } from '../../shared/validate/result.js';
import { referenceConfigSets, type ConfigSet } from '../helpers/ratelimit-reference-configs.js';
import { RlsClient, type RlsOutput } from '../helpers/rls-client.js';

/**
 * Where meshgate answers differently on purpose (and the README says so): it adds Retry-After
 * to an OVER_LIMIT answer, for callers of the gateway's 429.
 */
const DOCUMENTED_DIFFERENCES = { addedHeaders: ['retry-after'] } as const;

type Entry = { key: string; value: string };
interface Call {
  readonly what: string;
  readonly request?: JsonObject;
  /** Bytes that are not a RateLimitRequest a proto3 decoder accepts. */
  readonly raw?: Buffer;
}

/** Every descriptor path a config has, with values that reach each node, and one that misses. */
function pathsOf(descriptors: readonly DescriptorSpec[], prefix: Entry[] = []): Entry[][] {
  const out: Entry[][] = [];
  for (const d of descriptors) {
    const values = d.value === undefined ? ['any-value'] : d.value.endsWith('*') ? [`${d.value.slice(0, -1)}one`, `${d.value.slice(0, -1)}two`] : [d.value];
    for (const value of values) {
      const p = [...prefix, { key: d.key, value }];
      out.push(p);
      out.push(...pathsOf(d.descriptors, p));
    }
  }
  if (prefix.length === 0 && descriptors[0]) out.push([{ key: descriptors[0].key, value: 'no-such-value' }]);
  return out;
}

function hasUnit(descriptors: readonly DescriptorSpec[], unit: string): boolean {
  return descriptors.some((d) => d.rate_limit?.unit?.toLowerCase() === unit || hasUnit(d.descriptors, unit));
}

const descriptor = (entries: Entry[], extra: JsonObject = {}): JsonObject => ({ entries, ...extra });

function callsFor(domain: string, descriptors: readonly DescriptorSpec[]): Call[] {
  const paths = pathsOf(descriptors).slice(0, 40);
  const calls: Call[] = [];
  for (const p of paths) for (let i = 0; i < 4; i++) calls.push({ what: `${JSON.stringify(p)} #${i + 1}`, request: { domain, descriptors: [descriptor(p)] } });
  const together = paths.slice(0, 10).map((p) => descriptor(p));
  for (let i = 0; i < 2; i++) calls.push({ what: `every path at once #${i + 1}`, request: { domain, descriptors: together } });
  const first = paths[0] ?? [{ key: 'k', value: 'v' }];
  calls.push({ what: 'hits_addend 2 on the request', request: { domain, descriptors: [descriptor(first)], hits_addend: 2 } });
  calls.push({ what: 'hits_addend 0 on the descriptor (check only)', request: { domain, descriptors: [descriptor(first, { hits_addend: 0 })] } });
  calls.push({ what: 'hits_addend 5 on the descriptor', request: { domain, descriptors: [descriptor(first, { hits_addend: 5 })], hits_addend: 1 } });
  // An override's unit is envoy.type.v3.RateLimitUnit, which has no WEEK; the reference reads
  // the number as its own Unit, where 7 is WEEK. (UNKNOWN, 0, is never sent: the reference
  // panics and exits on it, where meshgate answers with the configured limit.)
  for (let i = 0; i < 3; i++) calls.push({ what: `override 2/WEEK (unit 7) #${i + 1}`, request: { domain, descriptors: [descriptor(first, { limit: { requests_per_unit: 2, unit: 7 } })] } });
  calls.push({ what: 'override 3/MINUTE', request: { domain, descriptors: [descriptor(first, { limit: { requests_per_unit: 3, unit: 'MINUTE' } })] } });
  calls.push({ what: 'the same path after the override', request: { domain, descriptors: [descriptor(first)] } });
  calls.push({ what: 'an unknown domain', request: { domain: 'no-such-domain', descriptors: [descriptor(first)] } });
  calls.push({ what: 'an empty domain', request: { domain: '', descriptors: [descriptor(first)] } });
  calls.push({ what: 'no descriptors', request: { domain, descriptors: [] } });
  const utf8 = Buffer.from(encodeMessage('envoy.service.ratelimit.v3.RateLimitRequest', { domain, descriptors: [descriptor([{ key: first[0]!.key, value: 'ä' }])] }));
  utf8[utf8.indexOf(Buffer.from('ä'))] = 0xff;
  calls.push({ what: 'a value that is not UTF-8', raw: utf8 });
  return calls;
}

interface Normalized {
  readonly answer: unknown;
  readonly resets: number[];
}

/** Every field of an answer (or the error's gRPC code), the reset durations apart. */
function normalize(r: RlsOutput | { code: number }, dropHeaders: readonly string[]): Normalized {
  if ('code' in r && !('overall_code' in r)) return { answer: { error: r.code }, resets: [] };
  const o = r as RlsOutput & { statuses?: Array<{ current_limit?: { name?: string } }> };
  const statuses = (o.statuses ?? []).map((s) => ({
    code: s.code,
    current_limit: s.current_limit ? { requests_per_unit: s.current_limit.requests_per_unit ?? 0, unit: s.current_limit.unit, name: (s.current_limit as { name?: string }).name ?? '' } : null,
    limit_remaining: s.limit_remaining ?? 0,
    has_reset: s.duration_until_reset !== undefined,
  }));
  return {
    answer: { overall_code: o.overall_code, statuses, headers: (o.response_headers_to_add ?? []).filter((h) => !dropHeaders.includes(h.key.toLowerCase())) },
    resets: (o.statuses ?? []).map((s) => Number((s.duration_until_reset ?? '0s').replace(/s$/, ''))),
  };
}

async function send(client: RlsClient, call: Call): Promise<RlsOutput | { code: number }> {
  try {
    return call.raw ? await client.callRaw(call.raw) : await client.call(call.request!);
  } catch (err) {
    return { code: (err as { code: number }).code };
  }
}

describe('ratelimit-service and envoyproxy/ratelimit, side by side', () => {
  let dir: string;
  let redisReference: RedisServer;
  let redisMeshgate: RedisServer;

  before(async () => {
    dir = tempDir('rl-diff');
    const [a, b] = (await freePorts(2)) as [number, number];
    redisReference = await startRedis(a, path.join(dir, 'redis-reference.log'));
    redisMeshgate = await startRedis(b, path.join(dir, 'redis-meshgate.log'));
  });

  after(async () => {
    await redisReference?.stop();
    await redisMeshgate?.stop();
    if (dir && !process.env['KEEP_TEST_LOGS']) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Service-wide settings, each as the reference's environment and as meshgate's flag. */
  const MODES = [
    { name: 'defaults', env: {}, args: [] },
    { name: 'global shadow mode', env: { SHADOW_MODE: 'true' }, args: ['--shadow-mode'] },
    { name: 'global quota mode', env: { QUOTA_MODE: 'true' }, args: ['--quota-mode'] },
    { name: 'the local over-limit cache on', env: { LOCAL_CACHE_SIZE_IN_BYTES: '1048576' }, args: ['--local-cache-size=1048576'] },
  ] as const;
  const all: ConfigSet[] = referenceConfigSets();
  // Every set with the defaults; the modes with two sets that have over-limit answers to change.
  const runs = all.flatMap((set) => MODES.filter((m) => m.name === 'defaults' || /basic_config|YAML 1.1/.test(set.name)).map((mode) => ({ set, mode })));
  runs.forEach(({ set, mode }, n) => {
    it(`answers as the reference does: ${set.name}${mode.name === 'defaults' ? '' : `, ${mode.name}`}`, async () => {
      await redisReference.command('FLUSHALL');
      await redisMeshgate.command('FLUSHALL');
      const configDir = path.join(dir, `set-${n}`);
      fs.mkdirSync(configDir, { recursive: true });
      const specs = set.files.map((f) => {
        fs.writeFileSync(path.join(configDir, f.name), f.text);
        const parsed = parseRateLimitConfig(f.text);
        assert.ok(parsed.ok, `meshgate refuses ${f.name}, which the reference loads: ${parsed.ok ? '' : describeRefusal(parsed)}`);
        return parsed.value;
      });
      const [refPort, mgPort, mgAdmin] = (await freePorts(3)) as [number, number, number];
      const reference = await startReferenceRatelimit({
        grpcPort: refPort,
        redisUrl: `127.0.0.1:${redisReference.port}`,
        configFiles: set.files,
        workDir: path.join(dir, `ref-${n}`),
        logFile: path.join(dir, `ref-${n}.log`),
        env: mode.env,
      });
      const meshgate = await startRatelimit({
        port: mgPort,
        adminPort: mgAdmin,
        configPaths: [configDir],
        redisUrl: `127.0.0.1:${redisMeshgate.port}`,
        logFile: path.join(dir, `meshgate-${n}.log`),
        extraArgs: mode.args,
      }).catch(async (err) => {
        await reference.stop();
        throw err;
      });
      const refClient = new RlsClient(`127.0.0.1:${refPort}`);
      const mgClient = new RlsClient(`127.0.0.1:${mgPort}`);
      const differences: string[] = [];
      try {
        for (const spec of specs) {
          const seconds = hasUnit(spec.descriptors, 'second');
          for (const call of callsFor(spec.domain, spec.descriptors)) {
            // Second-long windows: keep each pair of calls well inside one second.
            if (seconds && Date.now() % 1000 > 700) await sleep(1000 - (Date.now() % 1000) + 5);
            const [ref, mg] = await Promise.all([send(refClient, call), send(mgClient, call)]);
            const a = normalize(ref, []);
            const b = normalize(mg, DOCUMENTED_DIFFERENCES.addedHeaders);
            try {
              assert.deepEqual(b.answer, a.answer);
              a.resets.forEach((r, i) => assert.ok(Math.abs(r - b.resets[i]!) <= 1, `duration_until_reset ${b.resets[i]} against ${r}`));
            } catch (err) {
              differences.push(`${spec.domain} ${call.what}: reference ${JSON.stringify(a.answer)} ${a.resets}, meshgate ${JSON.stringify(b.answer)} ${b.resets} (${(err as Error).message.split('\n')[0]})`);
            }
          }
        }
      } finally {
        refClient.close();
        mgClient.close();
        await meshgate.stop();
        await reference.stop();
      }
      assert.deepEqual(differences.slice(0, 10), [], `${differences.length} answers differ`);
    });
  });

  it('answers POST /json and /healthcheck as the reference does, and counts under its metric names', async () => {
    await redisReference.command('FLUSHALL');
    await redisMeshgate.command('FLUSHALL');
    const files = [{ name: 'json.yaml', text: 'domain: json\ndescriptors:\n  - key: user\n    rate_limit: {unit: hour, requests_per_unit: 2, name: two-an-hour}\n' }];
    const configDir = path.join(dir, 'json');
    fs.mkdirSync(configDir, { recursive: true });
    fs.writeFileSync(path.join(configDir, 'json.yaml'), files[0]!.text);
    const [refPort, mgPort, mgAdmin] = (await freePorts(3)) as [number, number, number];
    const reference = await startReferenceRatelimit({ grpcPort: refPort, redisUrl: `127.0.0.1:${redisReference.port}`, configFiles: files, workDir: path.join(dir, 'ref-json') });
    const meshgate = await startRatelimit({ port: mgPort, adminPort: mgAdmin, configPaths: [configDir], redisUrl: `127.0.0.1:${redisMeshgate.port}` });
    try {
      const post = async (url: string, body: string): Promise<{ status: number; body: unknown }> => {
        const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        const text = await res.text();
        let parsed: unknown = text.trim();
        try {
          parsed = JSON.parse(text);
        } catch {
          /* an error page */
        }
        return { status: res.status, body: parsed };
      };
      /** Reset durations to whole seconds, ±1 of each other; meshgate's added Retry-After dropped. */
      const comparable = (b: unknown): unknown =>
        JSON.parse(
          JSON.stringify(b, (k, v) => {
            if (k === 'durationUntilReset') return 'some seconds';
            if (k !== 'responseHeadersToAdd') return v;
            const kept = (v as Array<{ key: string }>).filter((h) => !(DOCUMENTED_DIFFERENCES.addedHeaders as readonly string[]).includes(h.key.toLowerCase()));
            return kept.length ? kept : undefined;
          }),
        );
      const bodies = [
        '{"domain":"json","descriptors":[{"entries":[{"key":"user","value":"alice"}]}]}',
        '{"domain":"json","descriptors":[{"entries":[{"key":"user","value":"alice"}]}],"hitsAddend":1}',
        '{"domain":"json","descriptors":[{"entries":[{"key":"user","value":"alice"}]}]}',
        '{"domain":"json","descriptors":[{"entries":[{"key":"user","value":"bob"}],"hits_addend":0}]}',
        '{"domain":"","descriptors":[]}',
        'not json',
      ];
      for (const body of bodies) {
        const [a, b] = await Promise.all([post(`http://127.0.0.1:${reference.httpPort}/json`, body), post(`http://127.0.0.1:${mgAdmin}/json`, body)]);
        assert.equal(b.status, a.status, `${body}: status`);
        assert.deepEqual(comparable(b.body), comparable(a.body), body);
      }
      const [ha, hb] = await Promise.all([fetch(`http://127.0.0.1:${reference.httpPort}/healthcheck`), fetch(`http://127.0.0.1:${mgAdmin}/healthcheck`)]);
      assert.deepEqual([hb.status, await hb.text()], [ha.status, await ha.text()]);
      const metrics = await (await fetch(`http://127.0.0.1:${mgAdmin}/metrics`)).text();
      assert.match(metrics, /^ratelimit_service_rate_limit_total_hits\{domain="json",key1="user"\} 3$/m, "1 + 1 + 1 + 0 (check only)");
      assert.match(metrics, /^ratelimit_service_rate_limit_over_limit\{domain="json",key1="user"\} [1-9]/m);
    } finally {
      await meshgate.stop();
      await reference.stop();
    }
  });
});
