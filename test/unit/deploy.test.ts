/**
 * The monitoring files of the docker compose stack (deploy/, docker-compose.yml): Prometheus's
 * scrape config, the alert rules and the Grafana dashboard must query only series the worker
 * really serves, with labels those series really have, and be wired together as compose
 * mounts them. A renamed metric or label would otherwise leave a panel empty or an alert
 * silent, with nothing failing. Static: no service is started.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Histogram, Registry } from 'prom-client';
import { parse } from 'yaml';
import type { Client } from '@temporalio/client';
import type { ChainClient } from '../../src/chain/rpc.js';
import { MarketObserver } from '../../src/metrics/markets.js';
import { WorkerMetrics } from '../../src/metrics/metrics.js';
import { WORKER_ENV, WORKER_NODE_ARGS, workerEntry } from '../../devstack/stack.js';

const ROOT = new URL('../../', import.meta.url);
const readText = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');
// `yaml` is in node_modules through @fastify/swagger (a dependency), not a dependency of its own.
const readYaml = (path: string) => parse(readText(path)) as unknown;

/** Labels Prometheus attaches to every scraped series (the target's). */
const TARGET_LABELS = ['job', 'instance'];

/**
 * The Temporal SDK series the dashboard uses, as the worker's /metrics serves them: the SDK's
 * Prometheus exporter (Rust core of @temporalio/worker 1.24.0) with the options src/worker.ts
 * sets (countersTotalSuffix, unitSuffix, useSecondsForDurations). Names and labels as a worker
 * of that SDK served them; they are not registered anywhere we could read in a unit test.
 */
const TEMPORAL_SERIES: Record<string, { histogram: boolean; labels: string[] }> = {
  temporal_workflow_task_schedule_to_start_latency_seconds: { histogram: true, labels: ['namespace', 'service_name', 'task_queue'] },
  temporal_activity_schedule_to_start_latency_seconds: { histogram: true, labels: ['namespace', 'service_name', 'task_queue'] },
  temporal_activity_execution_latency_seconds: { histogram: true, labels: ['activity_type', 'namespace', 'service_name', 'task_queue', 'workflow_type'] },
  temporal_worker_task_slots_available: { histogram: false, labels: ['namespace', 'service_name', 'task_queue', 'worker_type'] },
  temporal_workflow_completed_total: { histogram: false, labels: ['namespace', 'service_name', 'task_queue', 'workflow_type'] },
  temporal_workflow_task_execution_failed_total: { histogram: false, labels: ['failure_reason', 'namespace', 'service_name', 'task_queue', 'workflow_type'] },
};

/** Prometheus's own per-target series. */
const PROMETHEUS_SERIES = { up: { histogram: false, labels: [] as string[] } };

/** seqflow's metrics as the worker registers them: base name, histogram or not, label names. */
function seqflowMetrics(): Map<string, { histogram: boolean; labels: string[] }> {
  const metrics = new WorkerMetrics();
  // createActivities registers it on the worker's metrics (src/activities/index.ts).
  metrics.watchRange(() => 1000);
  // With no market, nothing here talks to Temporal or the chain: the client and chain are never used.
  new MarketObserver({} as Client, {} as ChainClient, [], 100).register(metrics.registry);
  const found = new Map<string, { histogram: boolean; labels: string[] }>();
  for (const m of metrics.registry.getMetricsAsArray()) {
    // prom-client's process and Node.js defaults are not seqflow's to document or chart.
    if (!m.name.startsWith('seqflow_')) continue;
    // prom-client keeps each metric's label names from its constructor; its typings omit them.
    const labels = [...((m as unknown as { labelNames: readonly string[] }).labelNames ?? [])];
    found.set(m.name, { histogram: m instanceof Histogram, labels });
  }
  return found;
}

/** Every series name a query may use, with its labels: histograms as their _bucket (with le), _sum and _count. */
function seriesOf(metrics: Iterable<[string, { histogram: boolean; labels: string[] }]>): Map<string, string[]> {
  const series = new Map<string, string[]>();
  for (const [name, { histogram, labels }] of metrics) {
    if (histogram) {
      series.set(`${name}_bucket`, [...labels, 'le', ...TARGET_LABELS]);
      series.set(`${name}_sum`, [...labels, ...TARGET_LABELS]);
      series.set(`${name}_count`, [...labels, ...TARGET_LABELS]);
    } else {
      series.set(name, [...labels, ...TARGET_LABELS]);
    }
  }
  return series;
}

const SEQFLOW = seqflowMetrics();
/** The series read from the markets' status (markets.ts): every worker reports the same values. */
const PER_MARKET = (() => {
  const registry = new Registry();
  new MarketObserver({} as Client, {} as ChainClient, [], 100).register(registry);
  return new Set(registry.getMetricsAsArray().map((m) => m.name));
})();
const SERIES = seriesOf([...SEQFLOW, ...Object.entries(TEMPORAL_SERIES), ...Object.entries(PROMETHEUS_SERIES)]);

/** The PromQL functions and aggregations our queries use; anything else is a typo or needs adding here. */
const FUNCTIONS = new Set(['histogram_quantile', 'rate', 'increase', 'sum', 'max', 'min', 'avg', 'count']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool']);

interface Reference {
  /** Each series selector: its metric name and the label names of its matchers. */
  selectors: Array<{ metric: string; labels: string[] }>;
  /** Labels named in by / without / on / ignoring / group_* clauses. */
  grouping: string[];
}

/**
 * The metric names and label names a PromQL expression refers to. A subset of PromQL, enough
 * for deploy/: it throws on what it does not know (an unknown function, a selector without a
 * metric name, a Grafana variable outside a string or a range), so nothing escapes the checks.
 */
function references(expr: string): Reference {
  const selectors: Reference['selectors'] = [];
  const grouping: string[] = [];
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  rest = rest.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_, labels: string) => {
    grouping.push(...labels.split(',').map((l) => l.trim()).filter((l) => l !== ''));
    return ' ';
  });
  rest = rest.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g, (_, metric: string | undefined, matchers: string) => {
    if (!metric) throw new Error(`a selector without a metric name in ${expr}`);
    selectors.push({ metric, labels: [...matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!) });
    return ' ';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' ');
  if (rest.includes('$')) throw new Error(`a Grafana variable outside a string or a range in ${expr}`);
  for (const [, number, name, call] of rest.matchAll(/(\d+(?:\.\d+)?(?:e[+-]?\d+)?)|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (number !== undefined || name === undefined) continue;
    if (call !== undefined) {
      if (!FUNCTIONS.has(name)) throw new Error(`unknown function ${name} in ${expr}`);
    } else if (!KEYWORDS.has(name)) {
      selectors.push({ metric: name, labels: [] });
    }
  }
  return { selectors, grouping };
}

/** Why an expression does not fit the series the worker serves; [] when it does. */
function misfits(expr: string): string[] {
  const { selectors, grouping } = references(expr);
  const faults: string[] = [];
  if (selectors.length === 0) faults.push(`no series in ${expr}`);
  const known = new Set<string>();
  for (const { metric, labels } of selectors) {
    const has = SERIES.get(metric);
    if (!has) {
      faults.push(`${metric} is not served by the worker`);
      continue;
    }
    for (const l of has) known.add(l);
    for (const l of labels) if (!has.includes(l)) faults.push(`${metric} has no label ${l}`);
  }
  for (const l of grouping) if (!known.has(l)) faults.push(`no series of ${expr} has the label ${l} it groups by`);
  return faults;
}

/**
 * Where an expression adds up the same per-market value from several workers (it must take
 * `max by (market…)`), or shows one worker's labelled series without summing over the workers
 * (`sum by (…)`). The workers' unlabelled series (Redis, the getLogs span) are read per instance.
 */
function aggregationFaults(expr: string): string[] {
  const faults: string[] = [];
  for (const [name, { labels }] of SEQFLOW) {
    for (const m of expr.matchAll(new RegExp(`\\b${name}(?:_bucket|_sum|_count)?\\b`, 'g'))) {
      const before = expr.slice(0, m.index);
      if (PER_MARKET.has(name)) {
        if (!/max by \(market(?:, \w+)*\) \((?:(?:rate|increase)\()?$/.test(before)) faults.push(`${m[0]} not under max by (market)`);
      } else if (labels.length > 0 && !/sum by \([\w, ]+\) \((?:(?:rate|increase)\()?$/.test(before)) {
        faults.push(`${m[0]} not summed over the workers`);
      }
    }
  }
  return faults;
}

interface Rule {
  alert?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: { severity?: unknown };
  annotations?: { summary?: unknown };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; datasource: { type: string; uid: string } }>;
  panels?: Panel[];
}
interface ComposeService {
  image?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
}

const rules = (readYaml('deploy/prometheus/alerts.yml') as { groups: Array<{ name: string; rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readText('deploy/grafana/dashboards/seqflow.json')) as { uid: string; panels: Panel[]; templating: { list: Array<{ name: string; definition: string; query: { query: string } }> } };
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const compose = readYaml('docker-compose.yml') as { services: Record<string, ComposeService> };
/** A compose service's bind mounts: host path (as written) to container path. */
const mounts = (service: string) => new Map((compose.services[service]!.volumes ?? []).filter((v) => v.startsWith('./')).map((v) => [v.split(':')[0]!, v.split(':')[1]!]));

describe('the PromQL reference reader', () => {
  test('selectors with their matcher labels, grouping labels; strings, ranges and numbers skipped', () => {
    assert.deepEqual(
      references('histogram_quantile(0.99, sum by (market, le) (rate(seqflow_epoch_latency_seconds_bucket{market=~"$market"}[$__rate_interval]))) / 60 > 1e3 or up{job="seqflow"} == 0 and on (instance) seqflow_redis_up'),
      {
        selectors: [
          { metric: 'seqflow_epoch_latency_seconds_bucket', labels: ['market'] },
          { metric: 'up', labels: ['job'] },
          { metric: 'seqflow_redis_up', labels: [] },
        ],
        grouping: ['market', 'le', 'instance'],
      },
    );
  });

  test('refuses what it does not know', () => {
    assert.throws(() => references('predict_linear(seqflow_redis_up[5m], 60)'), /unknown function predict_linear/);
    assert.throws(() => references('{__name__="seqflow_redis_up"}'), /without a metric name/);
    assert.throws(() => references('rate(seqflow_redis_errors_total[5m]) > $threshold'), /Grafana variable/);
  });

  test('finds a wrong metric, a wrong label and a grouping label no series has', () => {
    assert.deepEqual(misfits('max by (market) (seqflow_follower_lag_block{market="x"})'), ['seqflow_follower_lag_block is not served by the worker', 'no series of max by (market) (seqflow_follower_lag_block{market="x"}) has the label market it groups by']);
    assert.deepEqual(misfits('seqflow_market_problems{problem="x"}'), ['seqflow_market_problems has no label problem']);
    assert.deepEqual(misfits('sum by (node, le) (rate(seqflow_rpc_requests_total[5m]))'), ['no series of sum by (node, le) (rate(seqflow_rpc_requests_total[5m])) has the label le it groups by']);
    assert.deepEqual(misfits('seqflow_epoch_latency_seconds'), ['seqflow_epoch_latency_seconds is not served by the worker']);
  });
});

describe('the aggregation check', () => {
  test('a per-market series summed, or a worker\'s labelled series left per worker, is a fault', () => {
    assert.deepEqual(aggregationFaults('sum by (market) (seqflow_follower_lag_blocks)'), ['seqflow_follower_lag_blocks not under max by (market)']);
    assert.deepEqual(aggregationFaults('max by (market) (increase(seqflow_epochs_failed_total[15m])) > 0'), []);
    assert.deepEqual(aggregationFaults('rate(seqflow_rpc_requests_total[5m])'), ['seqflow_rpc_requests_total not summed over the workers']);
    assert.deepEqual(aggregationFaults('histogram_quantile(0.9, sum by (node, le) (rate(seqflow_rpc_request_duration_seconds_bucket[5m])))'), []);
    assert.deepEqual(aggregationFaults('seqflow_redis_up == 0'), []);
  });
});

describe('the worker\'s metrics, as read for these checks', () => {
  test('every series the README lists, histograms marked, with their labels', () => {
    assert.deepEqual(Object.fromEntries([...SEQFLOW].sort(([a], [b]) => a.localeCompare(b))), {
      seqflow_batch_preparation_duration_seconds: { histogram: true, labels: ['market'] },
      seqflow_chain_head_block: { histogram: false, labels: ['market'] },
      seqflow_epoch_latency_seconds: { histogram: true, labels: ['market'] },
      seqflow_epoch_submissions: { histogram: true, labels: ['market'] },
      seqflow_epochs_batched_total: { histogram: false, labels: ['market'] },
      seqflow_epochs_failed_total: { histogram: false, labels: ['market'] },
      seqflow_epochs_orphaned_total: { histogram: false, labels: ['market'] },
      seqflow_epochs_started_total: { histogram: false, labels: ['market'] },
      seqflow_finality_violations_total: { histogram: false, labels: ['market'] },
      seqflow_follower_cursor_block: { histogram: false, labels: ['market'] },
      seqflow_follower_lag_blocks: { histogram: false, labels: ['market'] },
      seqflow_follower_lag_seconds: { histogram: false, labels: ['market'] },
      seqflow_getlogs_range_blocks: { histogram: false, labels: [] },
      seqflow_malformed_submission_keys_total: { histogram: false, labels: ['market'] },
      seqflow_market_health: { histogram: false, labels: ['market', 'health'] },
      seqflow_market_open_epochs: { histogram: false, labels: ['market'] },
      seqflow_market_problems: { histogram: false, labels: ['market', 'kind'] },
      seqflow_market_up: { histogram: false, labels: ['market'] },
      seqflow_redis_errors_total: { histogram: false, labels: [] },
      seqflow_redis_up: { histogram: false, labels: [] },
      seqflow_relayer_request_duration_seconds: { histogram: true, labels: ['endpoint'] },
      seqflow_relayer_requests_total: { histogram: false, labels: ['endpoint', 'status'] },
      seqflow_reorg_depth_blocks: { histogram: true, labels: ['market'] },
      seqflow_reorgs_total: { histogram: false, labels: ['market'] },
      seqflow_rpc_answers_rejected_total: { histogram: false, labels: ['node'] },
      seqflow_rpc_request_duration_seconds: { histogram: true, labels: ['node', 'method'] },
      seqflow_rpc_requests_total: { histogram: false, labels: ['node', 'method', 'outcome'] },
    });
  });
});

describe('Prometheus (deploy/prometheus/prometheus.yml)', () => {
  const config = readYaml('deploy/prometheus/prometheus.yml') as {
    global: { scrape_interval: string };
    rule_files: string[];
    scrape_configs: Array<{ job_name: string; metrics_path: string; static_configs: Array<{ targets: string[] }> }>;
  };

  test('scrapes the worker\'s /metrics on worker:9464, the port compose gives it', () => {
    assert.deepEqual(config.scrape_configs, [{ job_name: 'seqflow', metrics_path: '/metrics', static_configs: [{ targets: ['worker:9464'] }] }]);
    assert.equal(compose.services.worker!.environment!.METRICS_PORT, '9464');
  });

  test('compose mounts the config and the rules where the config finds them', () => {
    assert.deepEqual(config.rule_files, ['alerts.yml']);
    const prometheus = compose.services.prometheus!;
    assert.match(prometheus.image!, /^prom\/prometheus:\$\{PROMETHEUS_VERSION:-v\d+\.\d+\.\d+\}$/);
    assert.ok(prometheus.command!.includes('--config.file=/etc/prometheus/prometheus.yml'));
    assert.deepEqual(mounts('prometheus'), new Map([
      ['./deploy/prometheus/prometheus.yml', '/etc/prometheus/prometheus.yml'],
      ['./deploy/prometheus/alerts.yml', '/etc/prometheus/alerts.yml'],
    ]));
  });
});

describe('alert rules (deploy/prometheus/alerts.yml)', () => {
  test('the alerts, each with expr, for, a severity and a summary', () => {
    assert.deepEqual(rules.map((r) => [r.alert, r.labels?.severity, r.for]), [
      ['SeqflowWorkerDown', 'critical', '2m'],
      ['SeqflowMarketNotUp', 'critical', '5m'],
      ['SeqflowMarketLagBlocks', 'warning', '5m'],
      ['SeqflowMarketLagSeconds', 'warning', '5m'],
      ['SeqflowFollowerStalled', 'critical', '2m'],
      ['SeqflowMarketHealthFailed', 'critical', '5m'],
      ['SeqflowMarketDegraded', 'warning', '30m'],
      ['SeqflowEpochsFailed', 'critical', '1m'],
      ['SeqflowEpochsOrphaned', 'warning', '1m'],
      ['SeqflowFinalityViolation', 'critical', '0m'],
      ['SeqflowRedisDown', 'critical', '1m'],
      ['SeqflowRelayerErrors', 'warning', '10m'],
    ]);
    for (const r of rules) {
      assert.equal(typeof r.expr, 'string', `${String(r.alert)}: expr`);
      assert.ok((r.expr as string).trim() !== '', `${String(r.alert)}: expr`);
      assert.match(String(r.for), /^\d+[smhd]$/, `${String(r.alert)}: for`);
      assert.equal(typeof r.annotations?.summary, 'string', `${String(r.alert)}: annotations.summary`);
      assert.ok((r.annotations!.summary as string).trim() !== '', `${String(r.alert)}: annotations.summary`);
    }
  });

  test('every expression queries series the worker serves, with their labels', () => {
    for (const r of rules) assert.deepEqual(misfits(r.expr as string), [], String(r.alert));
  });

  test('per-market series are aggregated with max across workers, the workers\' own with sum', () => {
    for (const r of rules) assert.deepEqual(aggregationFaults(r.expr as string), [], String(r.alert));
  });

  test('every alert has a promtool unit test that fires it (alerts.test.yml)', () => {
    const unit = readYaml('deploy/prometheus/alerts.test.yml') as { rule_files: string[]; tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> };
    assert.deepEqual(unit.rule_files, ['alerts.yml']);
    const fired = new Set(unit.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    assert.deepEqual([...fired].sort(), rules.map((r) => r.alert as string).sort());
  });
});

describe('Grafana (deploy/grafana/)', () => {
  const datasources = readYaml('deploy/grafana/provisioning/datasources/prometheus.yml') as { datasources: Array<{ uid: string; type: string; url: string }> };
  const providers = readYaml('deploy/grafana/provisioning/dashboards/seqflow.yml') as { providers: Array<{ options: { path: string } }> };

  test('the datasource is compose\'s Prometheus, and the dashboard provider reads the mounted dashboards', () => {
    assert.deepEqual(datasources.datasources.map((d) => [d.uid, d.type, d.url]), [['prometheus', 'prometheus', 'http://prometheus:9090']]);
    assert.ok(compose.services.prometheus);
    const grafana = mounts('grafana');
    assert.equal(grafana.get('./deploy/grafana/provisioning'), '/etc/grafana/provisioning');
    assert.deepEqual(providers.providers.map((p) => p.options.path), [grafana.get('./deploy/grafana/dashboards')]);
    assert.match(compose.services.grafana!.image!, /^grafana\/grafana:\$\{GRAFANA_VERSION:-\d+\.\d+\.\d+\}$/);
  });

  test('Grafana\'s host port clashes with no other service\'s (the Temporal UI 8080, the worker 9464)', () => {
    const hostPorts = Object.entries(compose.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => [name, p.split(':')[0]!] as const));
    assert.deepEqual(hostPorts.filter(([name]) => name === 'grafana'), [['grafana', '3000']]);
    assert.equal(new Set(hostPorts.map(([, port]) => port)).size, hostPorts.length, JSON.stringify(hostPorts));
    assert.ok(hostPorts.some(([name, port]) => name === 'temporal-ui' && port === '8080'));
    assert.ok(hostPorts.some(([name, port]) => name === 'worker' && port === '9464'));
  });

  test('every panel queries the provisioned datasource, and fits the grid', () => {
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const p of panels.filter((p) => p.type !== 'row')) {
      assert.ok(p.targets && p.targets.length > 0, `${p.title}: no query`);
      assert.deepEqual(p.datasource, { type: 'prometheus', uid: datasources.datasources[0]!.uid }, p.title);
      for (const t of p.targets) assert.deepEqual(t.datasource, p.datasource, p.title);
      assert.ok(p.gridPos.x >= 0 && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title}: gridPos`);
    }
  });

  test('every query, and the market variable\'s, reads series the worker serves, with their labels', () => {
    for (const p of panels) for (const t of p.targets ?? []) assert.deepEqual(misfits(t.expr), [], `${p.title}: ${t.expr}`);
    for (const p of panels) for (const t of p.targets ?? []) assert.deepEqual(aggregationFaults(t.expr), [], `${p.title}: ${t.expr}`);
    const market = dashboard.templating.list.find((v) => v.name === 'market')!;
    assert.equal(market.query.query, market.definition);
    const [, selector, label] = /^label_values\((.+), (\w+)\)$/.exec(market.definition)!;
    assert.deepEqual(misfits(selector!), []);
    assert.ok(SERIES.get(selector!)!.includes(label!));
  });

  test('every seqflow metric has a panel', () => {
    const used = new Set(panels.flatMap((p) => (p.targets ?? []).flatMap((t) => references(t.expr).selectors.map((s) => s.metric.replace(/_(bucket|sum|count)$/, '')))));
    // A histogram's _bucket, _sum or _count stands for the histogram.
    const unused = [...SEQFLOW.keys()].filter((name) => !used.has(name));
    assert.deepEqual(unused, []);
  });

  test('the Temporal SDK panels: workflow task schedule-to-start and activity execution latency among them', () => {
    const temporal = new Set(panels.flatMap((p) => (p.targets ?? []).flatMap((t) => references(t.expr).selectors.map((s) => s.metric))).filter((m) => m.startsWith('temporal_')));
    assert.ok(temporal.has('temporal_workflow_task_schedule_to_start_latency_seconds_bucket'));
    assert.ok(temporal.has('temporal_activity_execution_latency_seconds_bucket'));
  });
});

test('the worker also exports the process\'s own series (resident memory, V8 heap, event loop lag)', async () => {
  const names = new WorkerMetrics().registry.getMetricsAsArray().map((m) => m.name);
  for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) assert.ok(names.includes(name), name);
});

test('npm start runs the compiled worker as the bench does (the tests run its sources with the same flags); npm run worker builds it first', () => {
  const { scripts } = JSON.parse(readText('package.json')) as { scripts: Record<string, string> };
  assert.equal(scripts.start, `${Object.entries(WORKER_ENV).map(([k, v]) => `${k}=${v}`).join(' ')} node ${[...WORKER_NODE_ARGS, ...workerEntry('dist')].join(' ')}`);
  assert.equal(scripts.worker, 'npm run build && npm start');
});
