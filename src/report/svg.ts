/**
 * Small deterministic SVG charts for generated docs (the same input gives the same bytes).
 * The HTML reports of a later issue use Observable Plot; these keep docs dependency-free.
 */

export interface BarGroup {
  label: string;
  /** One value per series, in series order. */
  values: number[];
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A grouped bar chart: one group per label, one bar per series. Linear or log y axis. */
export function groupedBarsSvg(opts: {
  title: string;
  yLabel: string;
  series: string[];
  groups: BarGroup[];
  log?: boolean;
}): string {
  const { title, yLabel, series, groups } = opts;
  const W = 860;
  const H = 400;
  const L = 70;
  const R = 200;
  const T = 36;
  const B = 70;
  const vals = groups.flatMap((g) => g.values).filter((v) => v > 0);
  const maxV = Math.max(...vals, 1e-9);
  const minV = Math.min(...vals, maxV);
  const lo = opts.log ? 10 ** Math.floor(Math.log10(minV)) : 0;
  const hi = opts.log ? 10 ** Math.ceil(Math.log10(maxV)) : maxV * 1.1;
  const y = (v: number) => {
    const f = opts.log
      ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))
      : v / hi;
    return H - B - f * (H - T - B);
  };
  const gw = (W - L - R) / Math.max(1, groups.length);
  const bw = (gw * 0.8) / Math.max(1, series.length);
  const p: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="20" font-size="14">${esc(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="18" y="${(T + H - B) / 2}" transform="rotate(-90 18 ${(T + H - B) / 2})" text-anchor="middle">${esc(yLabel)}</text>`,
  ];
  const ticks: number[] = [];
  if (opts.log) {
    for (let d = lo; d <= hi * 1.0001; d *= 10)
      for (const m of [1, 2, 5]) if (d * m <= hi * 1.0001) ticks.push(d * m);
  } else {
    for (let i = 0; i <= 4; i++) ticks.push((hi / 4) * i);
  }
  for (const t of ticks) {
    p.push(
      `<line x1="${L - 4}" y1="${y(t).toFixed(1)}" x2="${W - R}" y2="${y(t).toFixed(1)}" stroke="#e3e3e3"/>`,
    );
    p.push(`<text x="${L - 7}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${+t.toPrecision(3)}</text>`);
  }
  groups.forEach((g, gi) => {
    const x0 = L + gi * gw + gw * 0.1;
    g.values.forEach((v, si) => {
      const top = y(v);
      p.push(
        `<rect x="${(x0 + si * bw).toFixed(1)}" y="${top.toFixed(1)}" width="${(bw * 0.92).toFixed(1)}" height="${(H - B - top).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"/>`,
      );
    });
    p.push(
      `<text x="${(L + gi * gw + gw / 2).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${esc(g.label)}</text>`,
    );
  });
  series.forEach((s, si) => {
    p.push(
      `<rect x="${W - R + 12}" y="${T + si * 20}" width="12" height="12" fill="${COLORS[si % COLORS.length]}"/>`,
    );
    p.push(`<text x="${W - R + 30}" y="${T + si * 20 + 10}">${esc(s)}</text>`);
  });
  p.push('</svg>');
  return `${p.join('\n')}\n`;
}
