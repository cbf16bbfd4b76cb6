/**
 * What an epoch costs in Temporal, counted from real histories in Temporal's proto-JSON (as
 * `historyToJSON` and `temporal workflow show --output json` print them): history events, and
 * billable actions as Temporal Cloud defines them (docs.temporal.io/cloud/actions), so far as a
 * history shows them. Nothing here knows seqflow's workflows: an epoch's workflows are told by
 * their IDs, and other workflows' events are attributed by what they name (see attributeCost).
 */

/** One history event: `eventId` and `eventType` (`EVENT_TYPE_…`), and its one `…EventAttributes` field. */
export interface HistoryEvent {
  eventId: string;
  eventType: string;
  /** RFC 3339. */
  eventTime?: string;
  [attributes: string]: unknown;
}

/** One run of a workflow: its ID, its type and its events in order. */
export interface RunHistory {
  workflowId: string;
  workflowType: string;
  events: readonly HistoryEvent[];
}

export type ActionKind =
  | 'workflow started'
  | 'child workflow started'
  | 'activity'
  | 'local activities'
  | 'timer'
  | 'search attributes'
  | 'signal'
  | 'update'
  | 'workflow options';

/** `n` billable actions of a kind. */
export interface Action {
  kind: ActionKind;
  n: number;
}

const isAction = (a: Action | null | undefined): a is Action => a != null;

type Attributes = Record<string, unknown>;

/** The event's attributes (the one field whose name ends in EventAttributes), or {}. */
export function attributesOf(event: HistoryEvent): Attributes {
  const key = Object.keys(event).find((k) => k.endsWith('EventAttributes'));
  return (key ? event[key] : {}) as Attributes;
}

const type = (event: HistoryEvent) => event.eventType.replace(/^EVENT_TYPE_/, '');

/**
 * The billable actions each event stands for, index-aligned with `events` (null: none).
 * A workflow started (by a client, a parent or continue-as-new): 1, on the run's first event.
 * A child workflow: 1 more, on the parent's StartChildWorkflowExecutionInitiated (the docs count
 * two for a child: its start and the parent's intent). An activity: 1 per attempt, on its
 * ActivityTaskStarted (which records the last attempt). Local activities: 1 per workflow task
 * that recorded any (their markers). A timer started, a search attribute upsert (not one that
 * only sets TemporalChangeVersion, which is exempt), an accepted update: 1 each. A signal: 1,
 * counted once, where it is sent from a workflow (SignalExternalWorkflowExecutionInitiated) or
 * received from a client (WorkflowExecutionSignaled without a sending workflow).
 * Not in a history, so not counted: queries, activity heartbeats that reach the server,
 * rejected updates.
 */
export function actionsOf(events: readonly HistoryEvent[]): Array<Action | null> {
  const tasksWithLocalActivities = new Set<string>();
  return events.map((event) => {
    const a = attributesOf(event);
    switch (type(event)) {
      case 'WORKFLOW_EXECUTION_STARTED':
        return { kind: 'workflow started', n: 1 };
      case 'START_CHILD_WORKFLOW_EXECUTION_INITIATED':
        return { kind: 'child workflow started', n: 1 };
      case 'ACTIVITY_TASK_STARTED':
        return { kind: 'activity', n: Number(a.attempt ?? 1) };
      case 'TIMER_STARTED':
        return { kind: 'timer', n: 1 };
      case 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES': {
        const fields = Object.keys(((a.searchAttributes as Attributes | undefined)?.indexedFields ?? {}) as Attributes);
        return fields.every((f) => f === 'TemporalChangeVersion') ? null : { kind: 'search attributes', n: 1 };
      }
      case 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED':
        return { kind: 'signal', n: 1 };
      case 'WORKFLOW_EXECUTION_SIGNALED':
        return a.externalWorkflowExecution ? null : { kind: 'signal', n: 1 };
      case 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED':
        return { kind: 'update', n: 1 };
      case 'WORKFLOW_EXECUTION_OPTIONS_UPDATED':
        return { kind: 'workflow options', n: 1 };
      case 'MARKER_RECORDED': {
        const task = String(a.workflowTaskCompletedEventId);
        if (a.markerName !== 'core_local_activity' || tasksWithLocalActivities.has(task)) return null;
        tasksWithLocalActivities.add(task);
        return { kind: 'local activities', n: 1 };
      }
      default:
        return null;
    }
  });
}

/** Events and actions, with where they came from. */
export interface Cost {
  events: number;
  actions: number;
  eventsByWorkflowType: Record<string, number>;
  actionsByKind: Partial<Record<ActionKind, number>>;
}

const emptyCost = (): Cost => ({ events: 0, actions: 0, eventsByWorkflowType: {}, actionsByKind: {} });

function add(cost: Cost, workflowType: string, events: number, actions: ReadonlyArray<Action>, share: number): void {
  cost.events += events * share;
  cost.eventsByWorkflowType[workflowType] = (cost.eventsByWorkflowType[workflowType] ?? 0) + events * share;
  for (const { kind, n } of actions) {
    cost.actions += n * share;
    cost.actionsByKind[kind] = (cost.actionsByKind[kind] ?? 0) + n * share;
  }
}

/** The epochs whose cost is wanted, as `<market in lower case>/<epochId>`. */
export interface EpochScope {
  epochs: ReadonlySet<string>;
  /** Every market that runs (lower case), in scope or not: a run whose ID holds one is that market's. */
  markets: readonly string[];
  /** The epoch (same key) a workflow ID belongs to, in scope or not; null for a workflow of no epoch. */
  epochOfWorkflow(workflowId: string): string | null;
}

/** Fields linking an event to the one that began its thing (an activity, a timer, a child, a workflow task, an update), in order of preference. */
const LINKS = ['scheduledEventId', 'initiatedEventId', 'acceptedEventId', 'startedEventId'] as const;

/** A run's own lifecycle events carry its whole state (continue-as-new input, result): they name nothing. */
const LIFECYCLE = /^WORKFLOW_EXECUTION_(STARTED|COMPLETED|FAILED|TIMED_OUT|TERMINATED|CANCELED|CONTINUED_AS_NEW)$/;
const WORKFLOW_TASK_CLOSED = /^WORKFLOW_TASK_(COMPLETED|FAILED|TIMED_OUT)$/;
const MARKET_FIELDS = new Set(['market', 'datamarket', 'datamarketaddress']);

/**
 * The epochs an event names, in scope or not: a `workflowId` anywhere in it that belongs to one,
 * or a JSON payload holding an object with an `epochId` (of the market the object or its nearest
 * enclosing object names in a market field, else of the run's market, else of every market in
 * scope).
 */
function namedEpochs(event: HistoryEvent, scope: EpochScope, runMarket: string | null, epochsById: ReadonlyMap<string, string[]>): Set<string> {
  const named = new Set<string>();
  const name = (key: string | null) => key !== null && named.add(key);
  const visitJson = (node: unknown, market: string | null): void => {
    if (Array.isArray(node)) return node.forEach((n) => visitJson(n, market));
    if (node === null || typeof node !== 'object') return;
    const fields = Object.entries(node as Attributes);
    const own = fields.find(([k, v]) => MARKET_FIELDS.has(k.toLowerCase()) && typeof v === 'string');
    const m = own ? (own[1] as string).toLowerCase() : market;
    const epochId = (node as Attributes).epochId;
    if (typeof epochId === 'string' || typeof epochId === 'number') {
      const of = m ?? runMarket;
      if (of) name(`${of}/${epochId}`);
      else (epochsById.get(String(epochId)) ?? []).forEach(name);
    }
    for (const [, v] of fields) visitJson(v, m);
  };
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const { metadata, data } = node as { metadata?: { encoding?: string }; data?: unknown };
    if (typeof metadata?.encoding === 'string' && typeof data === 'string') {
      if (Buffer.from(metadata.encoding, 'base64').toString() === 'json/plain') visitJson(JSON.parse(Buffer.from(data, 'base64').toString()), null);
      return;
    }
    for (const [k, v] of Object.entries(node as Attributes)) {
      if (k === 'workflowId' && typeof v === 'string') name(scope.epochOfWorkflow(v));
      else visit(v);
    }
  };
  if (!LIFECYCLE.test(type(event))) visit(attributesOf(event));
  return named;
}

/**
 * The cost of each epoch in `scope`, and what no epoch caused (`background`), over `runs`.
 * A run of an epoch's workflow (by its ID) costs that epoch in full; runs of other epochs are
 * left out. Another run (a market's, or anything shared) is cut into groups: an activity, timer,
 * child, external signal, update or workflow task with all its events, and every other event
 * alone. A group that names epochs (see namedEpochs: a child's workflow ID, a follower's result
 * or a signal holding an epochId) is theirs, shared equally. A group that names none goes to the
 * epochs open in that run when it began, shared equally: an epoch is open from its first naming
 * event until the workflow task that handled its last one has closed, with that task's commands
 * (so the workflow tasks, parameter reads and the next poll that an epoch's events set off are
 * the epoch's). Shares of epochs out of scope are left out. Groups that begin while no epoch is
 * open are the run's background (an idle market's long polls).
 */
export function attributeCost(runs: readonly RunHistory[], scope: EpochScope): { perEpoch: Map<string, Cost>; background: Cost } {
  const perEpoch = new Map([...scope.epochs].map((key) => [key, emptyCost()]));
  const background = emptyCost();
  const epochsById = new Map<string, string[]>();
  for (const key of scope.epochs) {
    const id = key.split('/')[1]!;
    epochsById.set(id, [...(epochsById.get(id) ?? []), key]);
  }
  for (const run of runs) {
    const actions = actionsOf(run.events);
    const owner = scope.epochOfWorkflow(run.workflowId);
    if (owner !== null) {
      if (scope.epochs.has(owner)) add(perEpoch.get(owner)!, run.workflowType, run.events.length, actions.filter(isAction), 1);
      continue;
    }
    const runMarket = scope.markets.find((m) => run.workflowId.toLowerCase().includes(m)) ?? null;
    const index = new Map(run.events.map((e, i) => [e.eventId, i]));
    // Each event's group, as the index of the event that began it.
    const root: number[] = [];
    run.events.forEach((event, i) => {
      const a = attributesOf(event);
      const link = LINKS.map((f) => a[f]).find((v) => v !== undefined && index.has(String(v)));
      root.push(link === undefined ? i : root[index.get(String(link))!]!);
    });
    const names = run.events.map((event) => namedEpochs(event, scope, runMarket, epochsById));
    // Open intervals: from the first naming event to the close of the workflow task started after the last.
    const open = new Map<string, { from: number; to: number }>();
    names.forEach((keys, i) => {
      for (const key of keys) open.set(key, { from: open.get(key)?.from ?? i, to: i });
    });
    for (const interval of open.values()) {
      const started = run.events.findIndex((e, j) => j > interval.to && type(e) === 'WORKFLOW_TASK_STARTED');
      let end = started === -1 ? -1 : run.events.findIndex((e, j) => j > started && WORKFLOW_TASK_CLOSED.test(type(e)));
      if (end === -1) end = run.events.length - 1;
      // With the commands that workflow task gave.
      const task = run.events[end]!.eventId;
      while (end + 1 < run.events.length && String(attributesOf(run.events[end + 1]!).workflowTaskCompletedEventId) === task) end++;
      interval.to = end;
    }
    const groups = new Map<number, number[]>();
    root.forEach((r, i) => groups.set(r, [...(groups.get(r) ?? []), i]));
    for (const [begin, members] of groups) {
      const named = new Set(members.flatMap((i) => [...names[i]!]));
      const groupActions = members.map((i) => actions[i]).filter(isAction);
      // Named: its epochs'; else the open epochs'; else background. Shares of epochs out of scope are left out.
      const owners = named.size > 0 ? [...named] : [...open].filter(([, { from, to }]) => from <= begin && begin <= to).map(([key]) => key);
      if (owners.length === 0) add(background, run.workflowType, members.length, groupActions, 1);
      for (const key of owners) if (scope.epochs.has(key)) add(perEpoch.get(key)!, run.workflowType, members.length, groupActions, 1 / owners.length);
    }
  }
  return { perEpoch, background };
}

/** When the workflow tasks of `runs` completed within [fromMs, toMs] (wall clock ms), ascending. */
export function workflowTasksCompleted(runs: readonly RunHistory[], fromMs: number, toMs: number): number[] {
  return runs
    .flatMap((run) => run.events.filter((e) => type(e) === 'WORKFLOW_TASK_COMPLETED').map((e) => Date.parse(e.eventTime ?? '')))
    .filter((at) => at >= fromMs && at <= toMs)
    .sort((a, b) => a - b);
}

/**
 * How the workflow tasks of `runs` fared: how many timed out or failed (each is repeated by the
 * server, on a cold cache, after a full replay), the longest from scheduled to completed (wall
 * ms, whichever attempt completed it), and the longest history among the runs (events).
 */
export function workflowTaskTrouble(runs: readonly RunHistory[]): { timedOut: number; failed: number; longestMs: number; longestHistory: number } {
  let timedOut = 0;
  let failed = 0;
  let longestMs = 0;
  let longestHistory = 0;
  for (const run of runs) {
    longestHistory = Math.max(longestHistory, run.events.length);
    let scheduledAt: number | null = null;
    for (const event of run.events) {
      const at = Date.parse(event.eventTime ?? '');
      switch (type(event)) {
        case 'WORKFLOW_TASK_SCHEDULED':
          scheduledAt ??= at; // a task that timed out is scheduled again: the wait runs from the first
          break;
        case 'WORKFLOW_TASK_TIMED_OUT':
          timedOut++;
          break;
        case 'WORKFLOW_TASK_FAILED':
          failed++;
          break;
        case 'WORKFLOW_TASK_COMPLETED':
          if (scheduledAt !== null) longestMs = Math.max(longestMs, at - scheduledAt);
          scheduledAt = null;
          break;
      }
    }
  }
  return { timedOut, failed, longestMs, longestHistory };
}

/**
 * Events and activity runs over a span of wall time, across `runs`: the events whose eventTime
 * falls in (fromMs, toMs], and among them the activities scheduled (one run each, plus one per
 * retry their ActivityTaskStarted records) and the local activity markers.
 */
export function activityInSpan(runs: readonly RunHistory[], fromMs: number, toMs: number): { events: number; actions: number; activityRuns: number } {
  let events = 0;
  let actions = 0;
  let activityRuns = 0;
  for (const run of runs) {
    const counted = actionsOf(run.events);
    run.events.forEach((event, i) => {
      const at = Date.parse(event.eventTime ?? '');
      if (!(at > fromMs && at <= toMs)) return;
      events++;
      actions += counted[i]?.n ?? 0;
      const a = attributesOf(event);
      if (type(event) === 'ACTIVITY_TASK_SCHEDULED') activityRuns++;
      else if (type(event) === 'ACTIVITY_TASK_STARTED') activityRuns += Number(a.attempt ?? 1) - 1;
      else if (type(event) === 'MARKER_RECORDED' && a.markerName === 'core_local_activity') activityRuns++;
    });
  }
  return { events, actions, activityRuns };
}

/** The sum of costs, divided by `per` (e.g. the number of epochs): a mean cost. */
export function meanCost(costs: Iterable<Cost>, per: number): Cost {
  const total = emptyCost();
  for (const c of costs) {
    total.events += c.events / per;
    total.actions += c.actions / per;
    for (const [t, n] of Object.entries(c.eventsByWorkflowType)) total.eventsByWorkflowType[t] = (total.eventsByWorkflowType[t] ?? 0) + n / per;
    for (const [k, n] of Object.entries(c.actionsByKind) as Array<[ActionKind, number]>) total.actionsByKind[k] = (total.actionsByKind[k] ?? 0) + n / per;
  }
  return total;
}
