// bench-peers: the published TypeScript client (@grantex/gemma) on the shared workloads.
//
//   node ts_bench.mjs bench DATA        one JSON line per workload: median ns per operation
//   node ts_bench.mjs verify-once DATA  verify the token once and exit (peak-RSS probe)
//   node ts_bench.mjs gen-chain DATA    write DATA/chain_wire.jsonl: 10,000 entries appended
//                                       by the client with the bundle's audit key
//
// Timing is in-process (process.hrtime.bigint for wall time, process.cpuUsage for CPU
// time) over batches of calls, after a warm-up; process start and imports are not timed.
// Workload names and sizes match py_bench.py and the gx harness
// (crates/gx-cli/examples/bench_peers.rs). The script must sit in the npm project that
// installed the client, so that `import '@grantex/gemma'` resolves.
import { mkdtempSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOfflineVerifier, createOfflineAuditLog, verifyChain, verifyEntrySignature,
  storeBundle, loadBundle } from '@grantex/gemma';

const [mode, data] = process.argv.slice(2);
const read = (name) => readFileSync(join(data, name), 'utf-8').trim();
const cpuNs = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function measure(workload, op, batch, samples, warm, note) {
  for (let i = 0; i < warm; i++) await op();
  const wall = [], cpu = [];
  for (let s = 0; s < samples; s++) {
    const t0 = process.hrtime.bigint(), c0 = cpuNs();
    for (let i = 0; i < batch; i++) await op();
    wall.push(Number(process.hrtime.bigint() - t0) / batch);
    cpu.push((cpuNs() - c0) / batch);
  }
  const line = { workload, ns: median(wall), cpu_ns: median(cpu), samples: wall, batch };
  if (note) line.note = note;
  console.log(JSON.stringify(line));
}

const bundle = JSON.parse(read('bundle.json'));
const verifier = createOfflineVerifier({ jwksSnapshot: JSON.parse(read('jwks_snapshot.json')),
  requireScopes: ['read:contacts'] });
const token = read('token.jwt');

if (mode === 'verify-once') {
  await verifier.verify(token);
  process.exit(0);
}

const grant = await verifier.verify(token);
const meta = (i) => ({ i, tool: 'contacts', count: 42 });
const entry = { action: 'tool:read_contacts', agentDID: grant.agentDID, grantId: grant.grantId,
  scopes: grant.scopes, result: 'success', metadata: meta(0) };

if (mode === 'gen-chain') {
  const log = createOfflineAuditLog({ signingKey: bundle.offlineAuditKey, logPath: join(data, 'chain_wire.jsonl'),
    rotateOnSize: false });
  for (let i = 0; i < 10000; i++) await log.append({ ...entry, metadata: meta(i) });
  process.exit(0);
}

await measure('verify', () => verifier.verify(token), 200, 7, 50);

const tmp = mkdtempSync(join(tmpdir(), 'gx-bench-ts-'));
for (const name of ['append_nofsync', 'append_default']) {
  const log = createOfflineAuditLog({ signingKey: bundle.offlineAuditKey, logPath: join(tmp, `${name}.jsonl`) });
  await measure(name, () => log.append(entry), 200, 5, 20, 'the client never fsyncs');
}

const pem = read('audit_public.pem');
const entries = async () => (await readFile(join(data, 'chain_wire.jsonl'), 'utf-8'))
  .trim().split('\n').map((l) => JSON.parse(l));
await measure('chain10k_links', async () => {
  if (!verifyChain(await entries()).valid) throw new Error('chain does not verify');
}, 1, 3, 1, 'verifyChain');
await measure('chain10k_sig', async () => {
  const chain = await entries();
  if (!verifyChain(chain).valid) throw new Error('chain does not verify');
  for (const e of chain) if (!verifyEntrySignature(e, pem)) throw new Error(`bad signature at ${e.seq}`);
}, 1, 3, 1, 'verifyChain + verifyEntrySignature per entry');

const key = read('bundle_key.hex');
const file = join(tmp, 'bundle.enc');
await measure('bundle_store', () => storeBundle(bundle, file, key), 100, 5, 10, 'no fsync, no atomic rename');
await measure('bundle_load', () => loadBundle(file, key), 100, 5, 10);
