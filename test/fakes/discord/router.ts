import type { ApiRequest, ApiResponse, Core } from './core.js';
import type { BucketRef } from './ratelimit.js';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path after /api/v10 with `:param` segments, e.g. `/channels/:channel_id/messages`. */
  pattern: string;
  /** 'bot': needs `Authorization: Bot <token>` and counts toward the global limit. 'none': token-in-URL routes. */
  auth: 'bot' | 'none';
  /** The rate-limit bucket of a request, if the route has one. */
  bucket?: (params: Record<string, string>, core: Core) => BucketRef | undefined;
  handle: (req: ApiRequest, core: Core) => ApiResponse | Promise<ApiResponse>;
}

export type RouteMatch = { kind: 'found'; route: Route; params: Record<string, string> } | { kind: 'wrong-method' } | { kind: 'none' };

/** Matches a decoded path (no /api/v10 prefix) against the route table. */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  const segments = path.split('/').filter(Boolean);
  let pathMatched = false;
  for (const route of routes) {
    const params = matchPattern(route.pattern, segments);
    if (!params) continue;
    if (route.method === method) return { kind: 'found', route, params };
    pathMatched = true;
  }
  return pathMatched ? { kind: 'wrong-method' } : { kind: 'none' };
}

function matchPattern(pattern: string, segments: string[]): Record<string, string> | undefined {
  const parts = pattern.split('/').filter(Boolean);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of parts.entries()) {
    const segment = segments[i] ?? '';
    if (part.startsWith(':')) params[part.slice(1)] = segment;
    else if (part !== segment) return undefined;
  }
  return params;
}
