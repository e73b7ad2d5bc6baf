/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and lists where the time went: self time per function, and inclusive
 * time per function (a function's samples plus its callees'), so a hot path shows whichever way it is spread.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  name: string;
  where: string;
  selfMs: number;
  totalMs: number;
}

function label(node: ProfileNode, root: string): { name: string; where: string } {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url
    .replace(/^file:\/\//, '')
    .replace(root, '')
    .replace(/^.*node_modules\//, 'node_modules/');
  return { name: functionName || '(anonymous)', where: file ? `${file}:${lineNumber + 1}` : '' };
}

export function summariseProfile(path: string, root = '', skipMs = 0): { totalMs: number; idleMs: number; entries: ProfileEntry[] } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  let elapsedUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    elapsedUs += profile.timeDeltas[i] ?? 0;
    // Skip start-up (module loading, connecting) when asked.
    if (elapsedUs < skipMs * 1000) continue;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0));
  }
  const self = new Map<string, ProfileEntry>();
  const total = new Map<string, number>();
  let idle = 0;
  let all = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    all += us;
    if (node.callFrame.functionName === '(idle)') idle += us;
    const { name, where } = label(node, root);
    const key = `${name} ${where}`;
    const entry = self.get(key) ?? { name, where, selfMs: 0, totalMs: 0 };
    entry.selfMs += us / 1000;
    self.set(key, entry);
    // Inclusive: once per distinct function on the stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!, root);
      const k = `${l.name} ${l.where}`;
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + us / 1000);
      if (!self.has(k)) self.set(k, { name: l.name, where: l.where, selfMs: 0, totalMs: 0 });
    }
  }
  for (const [k, entry] of self) entry.totalMs = total.get(k) ?? 0;
  return { totalMs: all / 1000, idleMs: idle / 1000, entries: [...self.values()] };
}

export function formatProfile(path: string, root: string, top = 25, skipMs = 0): string {
  const { totalMs, idleMs, entries } = summariseProfile(path, root, skipMs);
  const busy = totalMs - idleMs;
  const row = (e: ProfileEntry) => `  ${e.selfMs.toFixed(0).padStart(7)} ${e.totalMs.toFixed(0).padStart(7)}  ${e.name}  ${e.where}`;
  const skip = (e: ProfileEntry) => ['(idle)', '(root)', '(program)'].includes(e.name);
  return [
    `profile ${path}: ${totalMs.toFixed(0)} ms sampled${skipMs ? ` after the first ${skipMs} ms` : ''}, ${busy.toFixed(0)} ms busy`,
    '  self ms total ms  function  location',
    '  -- by self time',
    ...entries
      .filter((e) => !skip(e))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top)
      .map(row),
    '  -- by inclusive time',
    ...entries
      .filter((e) => !skip(e))
      .sort((a, b) => b.totalMs - a.totalMs)
      .slice(0, top)
      .map(row),
  ].join('\n');
}

/** Where a sample's time is charged: the innermost frame on its stack that one of these recognises. */
export const CATEGORIES: Array<[string, RegExp]> = [
  ['salon: stripOwnName (per streamed chunk)', /\/src\/domain\/text\.js$/],
  ['model client (openai SDK, fetch, web streams, SSE parsing)', /node_modules\/openai\/|node:internal\/deps\/undici|node:internal\/webstreams/],
  ['Discord REST (@discordjs/rest)', /node_modules\/@discordjs\/rest\//],
  ['HTTP/1.1 client (undici: model and Discord requests)', /node_modules\/undici\//],
  ['Discord gateway events (@discordjs/ws, ws, actions)', /node_modules\/(@discordjs\/ws|ws)\/|discord\.js\/src\/client\/(websocket|actions)\//],
  ['discord.js structures, caches, builders', /node_modules\/(discord\.js|@discordjs|discord-api-types|@sapphire|@vladfrangu)\//],
  ['store (keyv, @keyv/sqlite, sqlite3)', /node_modules\/(keyv|@keyv|sqlite3)\//],
  ['logging (pino)', /node_modules\/(pino|sonic-boom|thread-stream|fast-redact|quick-format-unescaped)/],
  ['salon code (engine, domain, publisher, split…)', /\/(src|commands)\/.*\.js$/],
];

export function categoriseProfile(path: string, skipMs = 0): { busyMs: number; categories: Map<string, number> } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const categoryOf = new Map<number, string>();
  const classify = (id: number): string => {
    const cached = categoryOf.get(id);
    if (cached) return cached;
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    let category: string | undefined;
    if (name === '(garbage collector)') category = 'garbage collector';
    else if (name === '(idle)' || name === '(program)' || name === '(root)') category = name;
    else {
      const url = node.callFrame.url;
      category = CATEGORIES.find(([, re]) => re.test(url))?.[0];
      if (!category) {
        const up = parent.get(id);
        category = up === undefined ? 'other (Node internals: promises, timers, streams, sockets)' : classify(up);
        if (category === '(root)') category = 'other (Node internals: promises, timers, streams, sockets)';
      }
    }
    categoryOf.set(id, category);
    return category;
  };
  const categories = new Map<string, number>();
  let elapsedUs = 0;
  let busyUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    elapsedUs += profile.timeDeltas[i] ?? 0;
    if (elapsedUs < skipMs * 1000) continue;
    const us = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    const category = classify(profile.samples[i]!);
    if (category === '(idle)') continue;
    busyUs += us;
    categories.set(category, (categories.get(category) ?? 0) + us / 1000);
  }
  return { busyMs: busyUs / 1000, categories };
}
