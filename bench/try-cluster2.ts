import { writeFileSync } from 'node:fs';
import { ClusterRig, throughputRun } from './figures/cluster.js';
const [a, b] = process.argv.slice(2);
const rig = await ClusterRig.start(10);
try {
  const start = rig.discord.requests.length;
  const r = await throughputRun(rig, { salons: Number(a ?? 1000), workers: Number(b ?? 1), stream: false, from: 0.05, to: Number(process.env.TO ?? 0.5), capSeconds: 200 }, console.error);
  console.log(JSON.stringify({ ...r, perSecond: r.perSecond.join(',') }));
  const reqs = rig.discord.requests.slice(start).map((q) => ({ at: q.at, m: q.method, p: q.path, s: q.status, ua: q.headers['user-agent'] }));
  writeFileSync('/tmp/reqs.json', JSON.stringify(reqs));
  const procs = (rig as any).processes as any[];
  writeFileSync('/tmp/logs.json', JSON.stringify(procs.map((p) => p.logs.map((l: any) => ({ ...l.line, readAt: l.readAt })))));
} finally {
  await rig.close();
}
process.exit(0);
