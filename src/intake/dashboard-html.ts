import type { DayCounts } from '../domain/health';
import { ENRICHMENT_STATUSES, type EnrichmentStatus } from '../domain/status';
import type { AlertControls, DayCredits, OpenIncident } from '../ledger/dashboard';

/** The statuses that need a look, each linked to the Web UI's list of its workflows. */
export const ATTENTION_STATUSES = ['waiting_for_credits', 'paused', 'failed'] as const satisfies EnrichmentStatus[];
export type AttentionStatus = (typeof ATTENTION_STATUSES)[number];

/** The visibility query of the workflows of one status: what the Web UI link filters by, and what is counted. */
export const statusQuery = (status: EnrichmentStatus): string => `EnrichmentStatus="${status}"`;

export interface ScheduleRuns {
  id: string;
  /** The next action times (ISO), soonest first. */
  nextRuns: string[];
  paused: boolean;
  /** Not created yet (the worker creates the schedules at start-up, or `enrich schedules apply`). */
  missing: boolean;
}

/** What Temporal answered: the schedules' next runs, and the workflows of each status that needs a look. */
export interface TemporalFacts {
  schedules: ScheduleRuns[];
  workflowCounts: Record<AttentionStatus, number>;
}

/** Everything the page shows; built by src/intake/dashboard.ts, rendered here without I/O. */
export interface DashboardView {
  generatedAt: string;
  refreshSeconds: number;
  /** Oldest first. */
  days: DayCounts[];
  /** The health check's alert threshold: writes per day (HEALTH_MIN_WRITES). */
  minWrites: number;
  statusCounts: Record<EnrichmentStatus, number>;
  credits: DayCredits[];
  incidents: OpenIncident[];
  controls: AlertControls;
  temporal: ({ available: true } & TemporalFacts) | { available: false; reason: string };
  /** Where the Web UI is (TEMPORAL_UI_URL) and the namespace of the workflows; undefined: no links. */
  webUi: { url: string; namespace: string } | undefined;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Every string from the ledger or Temporal passes through here before it reaches the page. */
export const escapeHtml = (value: unknown): string => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** The Web UI's workflow list filtered by one EnrichmentStatus. */
export function webUiStatusLink(webUi: { url: string; namespace: string }, status: EnrichmentStatus): string {
  const query = encodeURIComponent(statusQuery(status));
  return `${webUi.url}/namespaces/${encodeURIComponent(webUi.namespace)}/workflows?query=${query}`;
}

const CHART = { width: 840, height: 260, left: 48, right: 12, top: 16, bottom: 36 } as const;

/** Signups and enrichment writes per day as paired bars, with the alert threshold as a dashed line. */
export function renderDayChart(days: DayCounts[], minWrites: number): string {
  const plotW = CHART.width - CHART.left - CHART.right;
  const plotH = CHART.height - CHART.top - CHART.bottom;
  const top = Math.max(...days.flatMap((d) => [d.signups, d.writes]), 0);
  const max = Math.max(1, minWrites, top);
  // A square-root scale: a day of a few signups stays visible under a threshold of hundreds, and every bar is still
  // above or below the threshold line exactly when its count is.
  const y = (v: number) => CHART.top + plotH - Math.sqrt(v / max) * plotH;
  const slot = plotW / Math.max(days.length, 1);
  const barW = Math.max(2, slot * 0.36);
  const bars = days.map((d, i) => {
    const x = CHART.left + i * slot + slot * 0.1;
    const bar = (kind: 'signups' | 'writes', value: number, offset: number) =>
      `<rect class="bar-${kind}" data-testid="bar-${kind}" data-day="${escapeHtml(d.day)}" data-value="${value}" ` +
      `x="${(x + offset).toFixed(1)}" y="${y(value).toFixed(1)}" width="${barW.toFixed(1)}" ` +
      `height="${(CHART.top + plotH - y(value)).toFixed(1)}"><title>${escapeHtml(d.day)}: ${value} ${kind}</title></rect>`;
    const label = `<text class="day-label" x="${(x + barW).toFixed(1)}" y="${CHART.height - CHART.bottom + 16}" text-anchor="middle">${escapeHtml(d.day.slice(5))}</text>`;
    return bar('signups', d.signups, 0) + bar('writes', d.writes, barW) + label;
  });
  const ty = y(minWrites).toFixed(1);
  return [
    `<svg data-testid="day-chart" role="img" aria-label="Signups and enrichment writes per day" viewBox="0 0 ${CHART.width} ${CHART.height}" width="100%" preserveAspectRatio="xMidYMid meet">`,
    `<line class="axis" x1="${CHART.left}" y1="${CHART.top + plotH}" x2="${CHART.width - CHART.right}" y2="${CHART.top + plotH}"/>`,
    ...[...new Set([0, top, max])].map(
      (v) =>
        `<line class="grid" x1="${CHART.left}" y1="${y(v).toFixed(1)}" x2="${CHART.width - CHART.right}" y2="${y(v).toFixed(1)}"/>` +
        `<text class="axis-label" x="${CHART.left - 6}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end">${v}</text>`,
    ),
    ...bars,
    `<line class="threshold" data-testid="threshold-line" data-value="${minWrites}" x1="${CHART.left}" y1="${ty}" x2="${CHART.width - CHART.right}" y2="${ty}"/>`,
    `<text class="threshold-label" x="${CHART.width - CHART.right}" y="${(Number(ty) - 4).toFixed(1)}" text-anchor="end">alert threshold: ${minWrites} writes/day</text>`,
    '</svg>',
  ].join('\n');
}

const STYLE = `
body{font-family:system-ui,-apple-system,sans-serif;margin:1.5rem;color:#1d2433;background:#f7f8fa}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
section{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:1rem;margin-bottom:1rem}
table{border-collapse:collapse;font-size:.85rem}td,th{border-bottom:1px solid #eceff3;padding:.25rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}.muted{color:#667085;font-size:.85rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #dde1e8;border-radius:6px;padding:.6rem 1rem;min-width:10rem}
.card .n{font-size:1.8rem;font-weight:600}.card a{text-decoration:none;color:inherit}.warn{color:#b42318}
.bar-signups{fill:#b8c2d3}.bar-writes{fill:#2e6fd8}.threshold{stroke:#d92d20;stroke-width:2;stroke-dasharray:6 4}
.threshold-label{fill:#d92d20;font-size:11px}.axis{stroke:#98a2b3}.grid{stroke:#eceff3}.axis-label,.day-label{fill:#667085;font-size:10px}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
`;

const table = (head: string[], rows: string[][], testid: string) =>
  `<table data-testid="${testid}"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>` +
  rows.map((r) => `<tr>${r.join('')}</tr>`).join('') +
  '</tbody></table>';

function attentionCards(view: DashboardView): string {
  return ATTENTION_STATUSES.map((status) => {
    // The workflows Temporal lists under this status (what the link opens); the ledger's signups beside them.
    const workflows = view.temporal.available ? view.temporal.workflowCounts[status] : undefined;
    const failedSignups = view.statusCounts.failed;
    const inner =
      `<div class="n${(workflows ?? 0) > 0 ? ' warn' : ''}" data-testid="attention-${status}">${workflows ?? '?'}</div>` +
      `<div>${status} workflows</div>` +
      // The ledger records a signup's status when it settles: waiting and paused signups are only in Temporal, failed
      // ones in both (plus the dead letters, signups whose workflow could not be started).
      (status === 'failed'
        ? `<div class="muted"><span data-testid="attention-ledger-${status}">${failedSignups}</span> failed signups in the ledger</div>`
        : '');
    const body = view.webUi
      ? `<a data-testid="attention-link-${status}" href="${escapeHtml(webUiStatusLink(view.webUi, status))}" title="Open these workflows in the Temporal Web UI">${inner}<div class="muted">list in the Web UI ↗</div></a>`
      : `${inner}<div class="muted">set TEMPORAL_UI_URL to link the Web UI</div>`;
    return `<div class="card">${body}</div>`;
  }).join('');
}

function creditsTable(view: DashboardView): string {
  const providers = [...new Set(view.credits.map((c) => c.provider))].sort();
  if (providers.length === 0)
    return '<p class="muted" data-testid="credits-none">No credits spent in these 14 days.</p>';
  const of = (day: string, provider: string) =>
    view.credits.find((c) => c.day === day && c.provider === provider)?.credits ?? 0;
  const rows = view.days.map((d) => [
    `<td>${escapeHtml(d.day)}</td>`,
    ...providers.map(
      (p) =>
        `<td data-testid="credits" data-day="${escapeHtml(d.day)}" data-provider="${escapeHtml(p)}">${of(d.day, p)}</td>`,
    ),
  ]);
  const totals = [
    '<td><strong>total</strong></td>',
    ...providers.map(
      (p) =>
        `<td data-testid="credits-total" data-provider="${escapeHtml(p)}"><strong>${view.credits
          .filter((c) => c.provider === p)
          .reduce((sum, c) => sum + c.credits, 0)}</strong></td>`,
    ),
  ];
  return table(['day', ...providers.map(escapeHtml)], [...rows, totals], 'credits-table');
}

function alertsSection(view: DashboardView): string {
  const incidents =
    view.incidents.length === 0
      ? '<p data-testid="incidents-none">No open incident.</p>'
      : `<ul data-testid="incidents">${view.incidents
          .map(
            (i) =>
              `<li data-testid="incident" data-id="${escapeHtml(i.id)}"><strong>${escapeHtml(i.id)}</strong> — ` +
              `${escapeHtml(i.firstDay)} to ${escapeHtml(i.lastDay)}${i.cause ? `: ${escapeHtml(i.cause)}` : ''}</li>`,
          )
          .join('')}</ul>`;
  const c = view.controls;
  const snooze = c.snoozedUntil
    ? `<p data-testid="snooze">Alerts snoozed until <strong>${escapeHtml(c.snoozedUntil)}</strong>${c.snoozeReason ? ` (${escapeHtml(c.snoozeReason)})` : ''}.</p>`
    : '<p data-testid="snooze-none">Alerts are not snoozed.</p>';
  const pause = c.paused
    ? `<p data-testid="paused" class="warn">Enrichment is paused${c.pausedAt ? ` since ${escapeHtml(c.pausedAt)}` : ''}${c.pauseReason ? `: ${escapeHtml(c.pauseReason)}` : ''}.</p>`
    : '';
  return pause + incidents + snooze;
}

function schedulesSection(view: DashboardView): string {
  if (!view.temporal.available) {
    return `<p data-testid="schedules-unavailable" class="warn">Temporal unreachable: ${escapeHtml(view.temporal.reason)}</p>`;
  }
  return table(
    ['schedule', 'next runs (UTC)'],
    view.temporal.schedules.map((s) => [
      `<td>${escapeHtml(s.id)}</td>`,
      `<td data-testid="schedule-next" data-id="${escapeHtml(s.id)}">${
        s.missing
          ? 'not created yet (the worker creates it at start-up)'
          : s.paused
            ? 'paused'
            : s.nextRuns.map(escapeHtml).join('<br>') || 'none'
      }</td>`,
    ]),
    'schedules',
  );
}

/** The whole page: server-rendered HTML with inline SVG, no script but none needed; it reloads every refreshSeconds. */
export function renderDashboard(view: DashboardView): string {
  const totalSignups = view.days.reduce((sum, d) => sum + d.signups, 0);
  const totalWrites = view.days.reduce((sum, d) => sum + d.writes, 0);
  const dayRows = view.days.map((d) => [
    `<td>${escapeHtml(d.day)}</td>`,
    `<td data-testid="day-signups" data-day="${escapeHtml(d.day)}">${d.signups}</td>`,
    `<td data-testid="day-writes" data-day="${escapeHtml(d.day)}">${d.writes}</td>`,
  ]);
  const statusRows = ENRICHMENT_STATUSES.map((s) => [
    `<td>${s}</td>`,
    `<td data-testid="status-count" data-status="${s}">${view.statusCounts[s]}</td>`,
  ]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="${view.refreshSeconds}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Signup enrichment — health</title><style>${STYLE}</style></head>
<body>
<h1>Signup enrichment — health</h1>
<p class="muted">Generated <span data-testid="generated-at">${escapeHtml(view.generatedAt)}</span> · reloads every ${view.refreshSeconds} s · days are UTC</p>
<section><h2>Needs a look</h2><div class="cards">${attentionCards(view)}</div></section>
<section><h2>Signups vs enrichment writes, last ${view.days.length} days</h2>
<p class="legend muted"><span style="background:#b8c2d3"></span>signups <span style="background:#2e6fd8"></span>enrichment writes <span style="background:#d92d20;height:2px"></span>alert threshold (${view.minWrites}/day) · square-root scale</p>
${renderDayChart(view.days, view.minWrites)}
<p class="muted">${view.days.length} days: <span data-testid="total-signups">${totalSignups}</span> signups, <span data-testid="total-writes">${totalWrites}</span> enrichment writes.</p>
<details><summary>Per day</summary>${table(['day', 'signups', 'writes'], dayRows, 'day-table')}</details>
</section>
<section><h2>Status breakdown (all signups, from the ledger)</h2>${table(['status', 'signups'], statusRows, 'status-table')}
<p class="muted">A signup waiting for credits or paused is still <code>received</code> or <code>enriching</code> in the ledger until it settles: the workflows waiting or paused are counted under "Needs a look".</p></section>
<section><h2>Credits spent per provider per day</h2>${creditsTable(view)}</section>
<section><h2>Incidents and snoozes</h2>${alertsSection(view)}</section>
<section><h2>Schedules</h2>${schedulesSection(view)}</section>
</body></html>
`;
}
