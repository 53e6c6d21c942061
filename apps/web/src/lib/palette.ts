/** Colours that mean the same thing on every chart: a segment, a channel, a risk band. */

export const SEGMENT_COLOURS: Record<string, string> = {
  'enterprise-novice': '#0f766e',
  'enterprise-expert': '#14b8a6',
  'mid_market-novice': '#7c3aed',
  'mid_market-expert': '#a78bfa',
  'smb-novice': '#c2410c',
  'smb-expert': '#fb923c',
};

export const CHANNEL_COLOURS: Record<string, string> = {
  chat: '#2563eb',
  email: '#0891b2',
  phone: '#7c3aed',
  web: '#16a34a',
  social: '#db2777',
};

export const RISK_COLOURS = { high: '#dc2626', medium: '#f59e0b', low: '#16a34a' } as const;

const FALLBACK = ['#334155', '#0ea5e9', '#84cc16', '#e11d48', '#8b5cf6', '#f97316', '#64748b'];

export function colourFor(key: string, table: Record<string, string>, index = 0): string {
  return table[key] ?? FALLBACK[index % FALLBACK.length]!;
}
