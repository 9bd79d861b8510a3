/** Hash routes: `#/run/3?kind=batch` -> { view: 'run', arg: '3', query }. */
export interface Route {
  view: string;
  arg: string | undefined;
  query: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const [view, arg] = path.split('/');
  return {
    view: view || 'runs',
    arg: arg || undefined,
    query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)),
  };
}

/** The hash of a route: `href('run', '3', { kind: 'batch' })` -> `#/run/3?kind=batch`. */
export function href(
  view: string,
  arg?: string | number,
  query: Record<string, string | undefined> = {},
): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, v);
  const qs = q.toString();
  return `#/${view}${arg === undefined ? '' : `/${arg}`}${qs ? `?${qs}` : ''}`;
}
