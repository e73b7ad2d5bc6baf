import { ClusterRig, throughputRun, failoverRun } from './figures/cluster.js';
const [mode, a, b, c] = process.argv.slice(2);
const rig = await ClusterRig.start(10);
try {
  if (mode === 'f') {
    const r = await failoverRun(rig, { salons: Number(a ?? 20), leaseMs: Number(b ?? 10000) }, console.error);
    console.log(JSON.stringify(r, null, 1));
  } else {
    const r = await throughputRun(rig, { salons: Number(a ?? 1000), workers: Number(b ?? 1), stream: c === 's', from: 0.2, to: Number(process.env.TO ?? 1), capSeconds: 200 }, console.error);
    console.log(JSON.stringify({ ...r, perSecond: r.perSecond.join(',') }, null, 1));
  }
} finally {
  await rig.close();
}
process.exit(0);
