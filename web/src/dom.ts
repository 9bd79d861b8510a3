/** Small DOM helpers: elements built with textContent (never HTML from data), SVG from the API. */

type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;
type Child = Node | string | number | null | undefined | false;

/** An element with attributes (`on*` functions become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/**
 * A figure from the API: the server renders its SVG (the report's Observable Plot code), and it
 * is parsed as SVG, so nothing in it runs.
 */
export function figure(f: { id: string; caption: string; svg: string }): HTMLElement {
  const doc = new DOMParser().parseFromString(f.svg, 'image/svg+xml');
  const root = doc.documentElement;
  const fig = h('figure', { class: 'figure', 'data-figure': f.id });
  if (root.nodeName.toLowerCase() === 'svg') {
    root.querySelectorAll('script, foreignObject').forEach((n) => {
      n.remove();
    });
    fig.append(document.importNode(root, true));
  } else {
    fig.append(h('p', { class: 'error' }, `figure ${f.id} could not be drawn`));
  }
  fig.append(h('figcaption', {}, f.caption));
  return fig;
}

/** A table from a header and rows of cells. */
export function table(head: string[], rows: (Child | Child[])[][], attrs: Attrs = {}): HTMLTableElement {
  return h(
    'table',
    attrs,
    h('thead', {}, h('tr', {}, ...head.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}

/**
 * A comparison table (the report's main columns) with what its columns count under it, and the
 * parts and counts behind it folded away (src/sim/compare-columns.ts).
 */
export function metricsTables(
  main: { head: string[]; cells: string[][]; legend: [string, string][] },
  more: { head: string[]; cells: string[][]; legend: [string, string][] },
  id?: string,
): HTMLElement {
  const legend = (l: [string, string][]) =>
    h('dl', { class: 'legend' }, ...l.flatMap(([k, what]) => [h('dt', {}, k), h('dd', {}, what)]));
  return h(
    'div',
    { class: 'metrics-tables' },
    h(
      'div',
      { class: 'table-scroll' },
      table(main.head, main.cells, { class: 'metrics', ...(id ? { id } : {}) }),
    ),
    h('details', { class: 'legend' }, h('summary', {}, 'What the columns count'), legend(main.legend)),
    h(
      'details',
      { class: 'more-metrics' },
      h('summary', {}, 'Parts and counts'),
      h('div', { class: 'table-scroll' }, table(more.head, more.cells, { class: 'metrics' })),
      legend(more.legend),
    ),
  );
}

/** A <select> of options; `value` preselected; `''` is the "any" choice when `any` is given. */
export function select(
  name: string,
  options: string[],
  value: string,
  onChange: (v: string) => void,
  any?: string,
): HTMLSelectElement {
  const s = h('select', { name, 'aria-label': name });
  if (any !== undefined) s.append(h('option', { value: '' }, any));
  for (const o of options) s.append(h('option', { value: o }, o));
  s.value = value;
  s.addEventListener('change', () => onChange(s.value));
  return s;
}

/** Replaces the children of `el`. */
export function mount(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}
